"""Machine fingerprint stored with every run: hardware, library versions, threads."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import threading
from functools import cache
from importlib import metadata

import psutil

LIBRARIES = (
    "torch", "torchaudio", "ctranslate2", "faster-whisper", "openai-whisper", "transformers",
    "liquid-audio", "pocketsphinx", "av", "numpy", "jiwer", "streamlit",
)


@cache  # installed versions do not change while the process runs
def _library_versions() -> tuple[tuple[str, str | None], ...]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


def library_versions() -> dict[str, str | None]:
    return dict(_library_versions())


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
    if "torch" not in sys.modules:
        return None
    # another thread may be importing torch right now: importing it again waits for that import to finish
    # instead of reading a partially initialised module (which has no `cuda` yet)
    torch = importlib.import_module("torch")
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"kind": "cuda", "name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
                "count": torch.cuda.device_count()}
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return {"kind": "mps", "name": "Apple GPU"}
    return None


_lock = threading.Lock()


def fingerprint(threads: int | None = None) -> dict:
    """This machine, as stored with every run; safe to call from many threads at once."""
    with _lock:
        return _fingerprint(threads)


def _fingerprint(threads: int | None) -> dict:
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
