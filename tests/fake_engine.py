"""A fake runtime for testing the runner and the loader only (real engines are tested on real audio)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from lab.audio import AudioClip
from lab.catalog import ModelSpec, WeightsSource, extra_models
from lab.engines import extra_runtime
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
        return Transcription(TEXT, "en", segments=[Segment(0.0, clip.duration_s, TEXT)], inference_s=0.001)


@contextmanager
def installed(weights_dir: Path, names: tuple[str, ...] = ("ok", "ok2", "crash", "oom", "loadfail")
              ) -> Iterator[list[str]]:
    """fake:NAME models in the catalog, served by FakeEngine, for the block only; yields their ids."""
    base = ModelSpec("fake:ok", "Fake", ("asr",), ("en",), 1000, "MIT", WeightsSource(path=str(weights_dir)))
    specs = [replace(base, id=f"fake:{name}", display_name=f"Fake {name}") for name in names]
    with extra_runtime("fake", "tests.fake_engine:FakeEngine", (), "nothing"), extra_models(*specs) as ids:
        yield ids
