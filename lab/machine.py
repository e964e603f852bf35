"""Machine fingerprint stored with every run: hardware, library versions, threads."""

from __future__ import annotations

import os
import platform
import sys
from functools import cache
from importlib import metadata

import psutil

LIBRARIES = (
    "torch", "torchaudio", "ctranslate2", "faster-whisper", "openai-whisper", "transformers",
    "liquid-audio", "pocketsphinx", "av", "numpy", "jiwer", "streamlit",
)


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu() -> dict | None:
    """GPU name and memory, only if torch is already imported (importing it just to look is slow)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"kind": "cuda", "name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
                "count": torch.cuda.device_count()}
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return {"kind": "mps", "name": "Apple GPU"}
    return None


def fingerprint(threads: int | None = None) -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": gpu(),
        "threads": threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "libraries": library_versions(),
    }
