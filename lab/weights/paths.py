"""Where weights live on disk: the lab's own cache, and what a runtime's weights directory must hold."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lab.settings import settings

if TYPE_CHECKING:
    from lab.catalog import ModelSpec

# A runtime's local weights are a directory holding this file (openai-whisper: a single .pt file).
MARKER = {
    "faster-whisper": "model.bin",
    "transformers": "config.json",
    "lfm2.5-audio": "config.json",
    "pocketsphinx": "mdef",
    "hibari": "hibari.onnx",
    "piper": "*.onnx.json",
    "whisper.cpp": "ggml-model-*.bin",
    "kokoro": "*.onnx",
}


def cache_dir() -> Path:
    """$LAB_CACHE_DIR: joined packs and conversions are written here."""
    return settings().cache_dir


def weights_dir() -> Path | None:
    """$LAB_WEIGHTS_DIR: hand-placed weights, laid out as <runtime>/<name>."""
    return settings().weights_dir


def holds_weights(spec: ModelSpec, path: Path) -> bool:
    """Whether `path` looks like `spec`'s runtime's weights (a marker file, not a full check)."""
    if spec.runtime == "openai-whisper":
        return path.is_file() and path.suffix == ".pt" or (path.is_dir() and any(path.glob("*.pt")))
    marker = MARKER.get(spec.runtime)
    return path.is_dir() and (marker is None or any(path.rglob(marker)))
