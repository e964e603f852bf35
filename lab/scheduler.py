"""Bounded work for a server: a queue per model, a fixed number of CPU slots, a time limit per job.

Every job runs on one of `slots` worker threads (default 1: each model already uses all the threads
`LAB_THREADS` gives it, so two at once would only slow both and spoil their latencies). Jobs wait in
a queue per model of at most `queue_length`; a full queue is refused at once (`QueueFull`, with a
retry-after estimate). A job is told how long it waited, so the stored latency is the model's own
time and the wait is stored apart. Because one worker runs one job at a time, concurrent requests
never load a model twice.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from lab.errors import LabError


class Busy(LabError):
    """The work cannot be taken now; `retry_after_s` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueFull(Busy):
    """The model's queue is full."""


class TimedOut(Busy):
    """The job did not finish (or start) within its time limit."""


@dataclass(frozen=True)
class Done[T]:
    value: T
    queue_s: float  # waiting for a slot
    run_s: float  # the job itself


class Scheduler:
    def __init__(self, slots: int = 1, queue_length: int = 8, timeout_s: float = 300.0) -> None:
        self.slots, self.queue_length, self.timeout_s = slots, queue_length, timeout_s
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="lab-job")
        self._lock = threading.Lock()
        self._waiting: dict[str, int] = {}  # jobs per queue, queued or running
        self._mean_run_s: dict[str, float] = {}  # smoothed job time per queue, for Retry-After

    def waiting(self, queue: str) -> int:
        with self._lock:
            return self._waiting.get(queue, 0)

    def run[T](self, queue: str, job: Callable[[float], T], timeout_s: float | None = None) -> Done[T]:
        """Run `job(queue_s)` in `queue`'s turn; raises QueueFull, TimedOut, or what the job raised."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        future = self._submit(queue, job)
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            started = not future.cancel()  # a job that never started is dropped; a running one finishes
            what = "did not finish" if started else "did not start"
            raise TimedOut(f"{queue}: the request {what} within {limit:g} s; try again later.",
                           self.retry_after(queue)) from None
        except CancelledError:  # pragma: no cover - only cancelled by the timeout above
            raise TimedOut(f"{queue}: the request was cancelled.", self.retry_after(queue)) from None

    def _submit[T](self, queue: str, job: Callable[[float], T]) -> Future[Done[T]]:
        with self._lock:
            if self._waiting.get(queue, 0) >= self.queue_length:
                raise QueueFull(f"{queue}: {self.queue_length} requests are already waiting; try again later.",
                                self._retry_after(queue))
            self._waiting[queue] = self._waiting.get(queue, 0) + 1
        submitted = time.perf_counter()

        def timed() -> Done[T]:
            started = time.perf_counter()
            try:
                value = job(started - submitted)
            finally:
                self._finished(queue, time.perf_counter() - started)
            return Done(value, started - submitted, time.perf_counter() - started)

        try:
            future = self._pool.submit(timed)
        except RuntimeError:  # shut down
            self._finished(queue, None)
            raise
        future.add_done_callback(lambda f: f.cancelled() and self._finished(queue, None))
        return future

    def _finished(self, queue: str, run_s: float | None) -> None:
        with self._lock:
            self._waiting[queue] = max(0, self._waiting.get(queue, 0) - 1)
            if run_s is not None:
                before = self._mean_run_s.get(queue)
                self._mean_run_s[queue] = run_s if before is None else 0.7 * before + 0.3 * run_s

    def retry_after(self, queue: str) -> int:
        with self._lock:
            return self._retry_after(queue)

    def _retry_after(self, queue: str) -> int:
        """Whole seconds until the queue has likely moved on: its jobs times their usual length."""
        per_job = self._mean_run_s.get(queue, 1.0)
        return max(1, math.ceil(per_job * max(1, self._waiting.get(queue, 0)) / self.slots))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
