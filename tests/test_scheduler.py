"""The serving scheduler: bounded queues, one job at a time, queue wait measured apart."""

from __future__ import annotations

import threading
import time

import pytest

from lab.scheduler import QueueFull, Scheduler, TimedOut


def _wait_until_busy(sched: Scheduler, queue: str) -> None:
    for _ in range(500):
        if sched.waiting(queue):
            return
        time.sleep(0.01)


def test_jobs_run_one_at_a_time_and_report_their_wait() -> None:
    sched = Scheduler(slots=1, queue_length=8)
    running, most, results = 0, 0, []
    lock = threading.Lock()

    def job(queue_s: float) -> float:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return queue_s

    threads = [threading.Thread(target=lambda: results.append(sched.run("m", job))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1 and len(results) == 4
    assert all(d.value == d.queue_s for d in results)
    assert max(d.queue_s for d in results) > min(d.queue_s for d in results)  # the later ones waited
    assert sched.waiting("m") == 0


def test_a_full_queue_is_refused_with_a_retry_after() -> None:
    sched = Scheduler(slots=1, queue_length=1)
    gate = threading.Event()
    t = threading.Thread(target=lambda: sched.run("m", lambda _q: gate.wait(5)))
    t.start()
    _wait_until_busy(sched, "m")
    with pytest.raises(QueueFull) as e:
        sched.run("m", lambda _q: None)
    assert e.value.retry_after_s >= 1
    gate.set()
    t.join()
    assert sched.run("m", lambda _q: "again").value == "again"


def test_a_job_that_cannot_start_in_time_is_dropped() -> None:
    sched = Scheduler(slots=1, queue_length=4)
    gate, ran = threading.Event(), []
    t = threading.Thread(target=lambda: sched.run("a", lambda _q: gate.wait(5)))
    t.start()
    _wait_until_busy(sched, "a")
    with pytest.raises(TimedOut):
        sched.run("b", lambda _q: ran.append(1), timeout_s=0.05)
    gate.set()
    t.join()
    sched.run("a", lambda _q: None)  # after the queue drained
    assert ran == [] and sched.waiting("b") == 0
