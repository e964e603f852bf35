"""Cached model acquisition: exactly one load per (model, device, compute type) per process.

Thread-safe (a per-key lock, so two callers asking for the same model wait for one load, while
different models load independently). Least-recently-used models are evicted when loading another
would exceed the memory budget. Load time is measured here, separately from inference.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import psutil

from lab.catalog import ModelSpec, get_spec
from lab.engines import AsrEngine, LoadConfig, build_engine, engine_class
from lab.errors import EngineError, LabError, OptionError
from lab.settings import settings

CacheKey = tuple[str, str, str]


@dataclass(frozen=True)
class Loaded:
    engine: AsrEngine
    load_s: float  # time of the original load, also reported on cache hits
    cached: bool  # True when this call found the model already loaded
    memory_bytes: int


def detect_device() -> str:
    """cuda > mps > cpu, overridable with LAB_DEVICE."""
    return settings().device or _best_device()


@cache  # imports torch and asks the driver: once per process
def _best_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def default_threads() -> int:
    """CPU threads for inference: LAB_THREADS, else the physical cores."""
    threads = settings().threads
    if threads is not None:
        return threads
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def default_budget_bytes() -> int:
    gb = settings().memory_budget_gb
    if gb is not None:
        return int(gb * (1 << 30))
    return int(psutil.virtual_memory().total * 0.6)


def load_config(spec: ModelSpec, device: str | None = None, compute_type: str | None = None,
                threads: int | None = None) -> LoadConfig:
    """Resolve the device (falling back to CPU where the runtime cannot use it) and compute type."""
    cls = engine_class(spec)
    dev = device or detect_device()
    if dev not in cls.devices:
        dev = "cpu"
    ctype = compute_type or cls.default_compute.get(dev, "float32")
    allowed = cls.compute_types.get(dev) if cls.compute_types else None
    if allowed is not None and ctype not in allowed:
        raise OptionError(f"{spec.id} runs in {' or '.join(allowed)} on {dev}, not {ctype}.")
    return LoadConfig(device=dev, compute_type=ctype, threads=threads or default_threads())


class ModelCache:
    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        self._models: OrderedDict[CacheKey, Loaded] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[CacheKey, threading.Lock] = {}
        self._warm: set[CacheKey] = set()  # loaded models whose first (warm-up) call has run
        self.loads = 0  # how many real loads happened (tests and benches check "exactly one")
        self.evictions: list[str] = []

    def acquire(self, model_id: str, device: str | None = None, compute_type: str | None = None,
                threads: int | None = None, progress: Callable[[str], None] | None = None) -> Loaded:
        """The loaded model, loading it on a miss; `progress` hears "converting weights…" and "loading…"."""
        spec = get_spec(model_id)
        config = load_config(spec, device, compute_type, threads)
        key = (spec.id, config.device, config.compute_type)
        hit = self._hit(key)
        if hit:
            return hit
        with self._key_lock(key):
            hit = self._hit(key)  # another thread may have loaded it while we waited
            if hit:
                return hit
            loaded = self._load(spec, config, progress or (lambda _stage: None))
            with self._lock:
                self._models[key] = loaded
            return loaded

    def _hit(self, key: CacheKey) -> Loaded | None:
        with self._lock:
            found = self._models.get(key)
            if found is None:
                return None
            self._models.move_to_end(key)
            return Loaded(found.engine, found.load_s, True, found.memory_bytes)

    def _key_lock(self, key: CacheKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _load(self, spec: ModelSpec, config: LoadConfig, progress: Callable[[str], None]) -> Loaded:
        engine = build_engine(spec, config)
        self._make_room(engine.memory_bytes())
        start = time.perf_counter()
        try:
            if getattr(engine, "weights", None) is not None and engine.weights.source == "convert":
                from lab.weights import ensure_for  # converted once; the engine's own call then finds it

                ensure_for(spec, engine.weights, progress)
            progress("loading…")
            engine.load()
        except LabError:
            raise
        except MemoryError:
            raise EngineError(f"{spec.id}: out of memory while loading on {config.device}.") from None
        except Exception as e:  # a runtime's own error: report it, keep the process alive
            raise EngineError(f"{spec.id}: failed to load ({type(e).__name__}: {e}).") from e
        load_s = time.perf_counter() - start
        self.loads += 1
        return Loaded(engine, load_s, False, engine.memory_bytes())

    def _make_room(self, needed: int) -> None:
        with self._lock:
            while self._models and self.used_bytes() + needed > self.budget_bytes:
                key, _ = self._models.popitem(last=False)
                self._warm.discard(key)
                self.evictions.append(key[0])
        gc.collect()

    def is_warm(self, engine: AsrEngine) -> bool:
        """Whether `engine` (loaded by this cache) has had its warm-up call since it was loaded."""
        with self._lock:
            return _key_of(engine) in self._warm

    def mark_warm(self, engine: AsrEngine) -> None:
        with self._lock:
            key = _key_of(engine)
            found = self._models.get(key)
            if found is not None and found.engine is engine:  # not one evicted meanwhile
                self._warm.add(key)

    def used_bytes(self) -> int:
        return sum(m.memory_bytes for m in self._models.values())

    def loaded(self) -> list[dict]:
        """What is loaded now, most recently used last."""
        with self._lock:
            return [
                {"model": k[0], "device": k[1], "compute_type": k[2], "load_s": v.load_s,
                 "memory_mb": v.memory_bytes / (1 << 20)}
                for k, v in self._models.items()
            ]

    def evict(self, model_id: str) -> None:
        with self._lock:
            for key in [k for k in self._models if k[0] == model_id]:
                del self._models[key]
                self._warm.discard(key)
        gc.collect()

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._warm.clear()
        gc.collect()


def _key_of(engine: AsrEngine) -> CacheKey:
    return (engine.spec.id, engine.config.device, engine.config.compute_type)


_default: ModelCache | None = None
_default_lock = threading.Lock()


def default_cache() -> ModelCache:
    """The process-wide cache the CLI, dashboard and API share when a caller passes none; tests and
    library users build their own `ModelCache()` and pass it instead."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelCache()
        return _default
