"""Evaluation spread out: N worker processes on this machine (`lab eval --workers N`) or a Ray cluster
(`lab eval --ray [ADDRESS]`).

Both are `ClipExecutor`s for `evaluate`: the driver decodes the clips and stores the run and every result as it
streams back; workers only transcribe, each holding its models loaded (one load per model per worker, never one
per clip). A clip whose job fails, or whose worker dies, is tried once more; then it becomes that clip's error and
the run still completes.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import socket
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

import psutil

from lab.audio import AudioClip
from lab.errors import LabError
from lab.eval.evaluate import ClipJob, run_job
from lab.loading import ModelCache, default_cache
from lab.runner import ModelResult
from lab.settings import reload_settings, settings

RAY_HINT = "--ray needs Ray, which is not installed: pip install 'model-lab[ray]' (or pip install 'ray>=2.9')."
RETRIES = 1  # one more try for a failed clip or a dead worker, then the clip's error
IN_FLIGHT = 2  # jobs queued per Ray actor: one running, one waiting, so an actor never idles between clips


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _use_threads(threads: int) -> None:
    """Inside a worker process: engines load with `threads` CPU threads (LAB_THREADS), so workers on one
    node together use its cores and no more."""
    os.environ["LAB_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    reload_settings()


def _lost(job: ClipJob, e: BaseException) -> ModelResult:
    return ModelResult(job.model_id, error=f"{job.model_id}: failed twice on a worker ({type(e).__name__}: {e})"[:500])


# --- worker processes on this machine -------------------------------------------------------------------------

def _pool_run(job: ClipJob, clip: AudioClip) -> ModelResult:
    return run_job(job, clip, default_cache())  # the worker process's cache: one load per model


@dataclass(frozen=True)
class PoolExecutor:
    """`workers` processes here, `threads` CPU threads each (default: the physical cores shared out)."""

    workers: int
    threads: int | None = None

    @property
    def threads_each(self) -> int:
        return self.threads or max(1, physical_cores() // self.workers)

    def describe(self) -> dict:
        return {"mode": "workers", "workers": self.workers, "threads_per_worker": self.threads_each}

    def __call__(self, jobs: list[ClipJob], clips: list[AudioClip]) -> Iterator[tuple[ClipJob, ModelResult]]:
        todo = [(job, 0) for job in jobs]
        while todo:  # a dead worker breaks its pool: the jobs it took down get a fresh pool, once
            todo = yield from self._round(todo, clips)

    def _round(self, todo: list[tuple[ClipJob, int]], clips: list[AudioClip],
               ) -> Iterator[tuple[ClipJob, ModelResult]]:
        retry: list[tuple[ClipJob, int]] = []
        # spawn, not fork: a forked child would inherit the parent's engine threads and locks
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_use_threads,
                                 initargs=(self.threads_each,)) as pool:
            pending: dict[Future, tuple[ClipJob, int]] = {
                pool.submit(_pool_run, job, clips[job.index]): (job, tries) for job, tries in todo}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    job, tries = pending.pop(f)
                    try:
                        result = f.result()
                    except Exception as e:  # the worker died or the job raised
                        if tries < RETRIES:
                            retry.append((job, tries + 1))
                            continue
                        result = _lost(job, e)
                    yield job, result
        return retry


# --- a Ray cluster ----------------------------------------------------------------------------------------------

def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


class ModelActor:
    """Holds one model loaded on one node; `threads` CPU threads for its engine."""

    def __init__(self, threads: int) -> None:
        _use_threads(threads)
        self.cache = ModelCache()
        self.threads = threads

    def run(self, job: ClipJob, clip: AudioClip) -> ModelResult:
        return run_job(job, clip, self.cache)


@dataclass(frozen=True)
class RayExecutor:
    """One actor per model per node of the cluster at `address` (None: a local Ray on this machine)."""

    address: str | None = None
    actor: type = ModelActor  # what each actor runs (tests swap in one that fails)

    @classmethod
    def from_settings(cls) -> RayExecutor:
        """The team's cluster (LAB_RAY_ADDRESS), else a local Ray."""
        return cls(settings().ray_address)

    def describe(self) -> dict:
        return {"mode": "ray", "address": self.address or "local"}

    def connect(self) -> RayExecutor:
        """Reach the cluster now, so a wrong address is a one-line error before any run is stored; Ray then
        stays up for this process (and for the next evaluation) until it exits."""
        _connect(_ray(), self.address)
        return self

    def __call__(self, jobs: list[ClipJob], clips: list[AudioClip]) -> Iterator[tuple[ClipJob, ModelResult]]:
        ray = _ray()
        started = _connect(ray, self.address)
        actors: dict[str, list] = {}
        try:
            models = list(dict.fromkeys(job.model_id for job in jobs))
            actors = _place_actors(ray, self.actor, models)
            refs = [ray.put(c) for c in clips]  # each clip shipped once, shared by every model's actor
            yield from _dispatch(ray, jobs, refs, actors)
        finally:
            for handles in actors.values():
                for a in handles:
                    ray.kill(a)
            if started:
                ray.shutdown()


def _ray():  # noqa: ANN202 - the ray module
    if not ray_available():
        raise LabError(RAY_HINT)
    import ray

    return ray


def _connect(ray, address: str | None) -> bool:  # noqa: ANN001
    """Join the cluster (or start a local Ray on this machine's physical cores); True when we started it."""
    if ray.is_initialized():
        return False
    kwargs = {"address": address} if address else {"address": "local", "num_cpus": physical_cores()}
    if address:
        _probe(address)
    try:
        ray.init(**kwargs, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except ConnectionError as e:
        raise LabError(f"cannot reach the Ray cluster at {address}: {e}") from None
    return True


def _probe(address: str) -> None:
    """Ray retries an unreachable head for minutes; a closed port should be a one-line error at once."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():  # "auto" and the like: Ray finds the cluster itself
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise LabError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None


def actor_shares(node_cpus: float, models: int) -> tuple[int, float]:
    """(engine threads, CPUs reserved) per actor so a node's actors together fit its CPUs."""
    threads = max(1, int(node_cpus // models))
    reserve = threads if threads * models <= node_cpus else round(node_cpus / models - 0.005, 2)
    return threads, reserve


def _place_actors(ray, actor: type, models: list[str]) -> dict[str, list]:  # noqa: ANN001
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(actor)
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    if not nodes:
        raise LabError("the Ray cluster has no live node with CPUs.")
    actors: dict[str, list] = {m: [] for m in models}
    for node in nodes:
        threads, reserve = actor_shares(node["Resources"]["CPU"], len(models))
        for m in models:
            # max_restarts: a dead actor comes back (reloading its model) for the retried clips
            actors[m].append(remote.options(
                num_cpus=reserve, max_restarts=1,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(threads))
    return actors


def _dispatch(ray, jobs: list[ClipJob], refs: list, actors: dict[str, list],  # noqa: ANN001
              ) -> Iterator[tuple[ClipJob, ModelResult]]:
    """Feed each model's actors from that model's queue, a few jobs ahead; yield results as they finish."""
    from ray.exceptions import RayError

    queues = {m: deque() for m in actors}
    for job in jobs:
        queues[job.model_id].append((job, 0))
    busy: dict = {}

    def feed(actor, model: str) -> None:  # noqa: ANN001
        if queues[model]:
            job, tries = queues[model].popleft()
            busy[actor.run.remote(job, refs[job.index])] = (actor, job, tries)

    for m, handles in actors.items():
        for a in handles:
            for _ in range(IN_FLIGHT):
                feed(a, m)
    while busy:
        [ref], _ = ray.wait(list(busy), num_returns=1)
        actor, job, tries = busy.pop(ref)
        try:
            result = ray.get(ref)
        except RayError as e:  # the job raised or its actor died
            result = None if tries < RETRIES else _lost(job, e)
            if result is None:
                queues[job.model_id].appendleft((job, tries + 1))
        feed(actor, job.model_id)
        if result is not None:
            yield job, result
