"""A fake runtime for testing the runner and the loader only (real engines are tested on real audio)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from lab.audio import AudioClip
from lab.catalog import ModelSpec, WeightsSource, catalog
from lab.engines import RUNTIMES
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription

TEXT = "ask not what your country can do for you"
LOADS: list[str] = []
_lock = threading.Lock()


class FakeEngine(BaseEngine):
    def load(self) -> None:
        time.sleep(0.05)  # wide enough for racing threads to overlap
        with _lock:
            LOADS.append(self.spec.id)
        if self.spec.name == "loadfail":
            raise OSError("weights file is truncated")

    def memory_bytes(self) -> int:
        return 100 << 20

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        if self.spec.name == "crash":
            raise RuntimeError("CUDA error: device-side assert triggered")
        if self.spec.name == "oom":
            raise MemoryError
        return Transcription(TEXT, "en", [Segment(0.0, clip.duration_s, TEXT)], inference_s=0.001)


def install(weights_dir: Path, names: tuple[str, ...] = ("ok", "ok2", "crash", "oom", "loadfail")) -> list[str]:
    """Add fake:NAME models to the (cached) catalog and the runtime registry; returns their ids."""
    RUNTIMES["fake"] = ("tests.fake_engine:FakeEngine", (), "nothing")
    base = ModelSpec("fake:ok", "Fake", ("asr",), ("en",), 1000, "MIT", WeightsSource(path=str(weights_dir)))
    ids = []
    for name in names:
        spec = replace(base, id=f"fake:{name}", display_name=f"Fake {name}")
        catalog()[spec.id] = spec
        ids.append(spec.id)
    return ids
