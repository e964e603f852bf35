"""The model cache: one load per key under concurrency, LRU eviction under a memory budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.catalog import catalog, get_spec
from lab.engines import RUNTIMES
from lab.errors import UnknownModelError
from lab.loading import ModelCache, detect_device, load_config
from lab.settings import override
from tests import fake_engine


@pytest.fixture()
def fakes(tmp_path: Path) -> Iterator[list[str]]:
    fake_engine.LOADS.clear()
    with fake_engine.installed(tmp_path, ("a", "b", "c")) as ids:
        yield ids


def test_concurrent_acquires_load_once(fakes: list[str]) -> None:
    cache = ModelCache()
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.acquire("fake:a"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_engine.LOADS == ["fake:a"] and cache.loads == 1
    assert len({id(g.engine) for g in got}) == 1
    assert sum(not g.cached for g in got) == 1


def test_different_compute_types_are_different_entries(fakes: list[str]) -> None:
    cache = ModelCache()
    a = cache.acquire("fake:a", compute_type="float32")
    b = cache.acquire("fake:a", compute_type="int8")
    assert a.engine is not b.engine and cache.loads == 2
    assert cache.acquire("fake:a", compute_type="float32").engine is a.engine


def test_lru_eviction_under_budget(fakes: list[str]) -> None:
    cache = ModelCache(budget_bytes=250 << 20)  # room for two 100 MB fakes
    cache.acquire("fake:a")
    cache.acquire("fake:b")
    cache.acquire("fake:a")  # a is now most recently used
    cache.acquire("fake:c")  # evicts b
    assert cache.evictions == ["fake:b"]
    assert [m["model"] for m in cache.loaded()] == ["fake:a", "fake:c"]
    assert cache.acquire("fake:b").cached is False and cache.loads == 4


def test_unknown_model_and_device_resolution(fakes: list[str]) -> None:
    with pytest.raises(UnknownModelError):
        ModelCache().acquire("fake:zzz")
    assert detect_device() in ("cpu", "cuda", "mps")
    # faster-whisper cannot use MPS: it falls back to CPU with its CPU default compute type
    cfg = load_config(get_spec("faster-whisper:tiny.en"), device="mps", threads=3)
    assert (cfg.device, cfg.compute_type, cfg.threads) == ("cpu", "int8", 3)


def test_device_and_threads_follow_the_settings() -> None:
    with override(device="mps", threads=3, memory_budget_gb=0.5):  # LAB_DEVICE, LAB_THREADS, LAB_MEMORY_BUDGET_GB
        assert detect_device() == "mps"
        assert load_config(get_spec("faster-whisper:tiny.en")).threads == 3
        assert ModelCache().budget_bytes == 1 << 29


def test_scoped_models_leave_nothing_behind(tmp_path: Path) -> None:
    with fake_engine.installed(tmp_path, ("scoped",)) as ids:
        assert ids == ["fake:scoped"] and "fake:scoped" in catalog()
        assert ModelCache().acquire("fake:scoped").engine.spec.id == "fake:scoped"
    assert "fake:scoped" not in catalog() and "fake" not in RUNTIMES
    with pytest.raises(UnknownModelError):
        get_spec("fake:scoped")
