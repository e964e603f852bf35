"""Who owns a running run, and what happens when the owner is gone.

`start_run` records the owner (host, pid) and a heartbeat; a light daemon thread refreshes the heartbeat
of this process's running runs while long model calls run, and each stored result refreshes it too.
On start, the CLI, dashboard and API call `mark_interrupted_runs()`: a `running` run whose owner process
on this host no longer exists, or whose heartbeat is older than `STALE_AFTER` (other hosts), becomes
`interrupted`, its results kept.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select, update

from db.models import Run
from db.session import session as db_session
from lab.settings import settings
from lab.store._db import aware, session

HEARTBEAT_S = 30.0
# generous: a heartbeat this old means the owner is gone even when its pid cannot be checked (other hosts)
STALE_AFTER = timedelta(minutes=10)
INTERRUPTED = "interrupted"

_live: set[tuple[str, int]] = set()  # (database URL, run id): running runs started by this process
_live_lock = threading.Lock()
_beat: threading.Thread | None = None
_marked_once: set[str] = set()


def owner() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def now() -> datetime:
    return datetime.now(UTC)


def track(run_id: int) -> None:
    """Keep this run's heartbeat fresh until `untrack`; starts the process's heartbeat thread once."""
    global _beat
    with _live_lock:
        _live.add((settings().db_url, run_id))
        if _beat is None or not _beat.is_alive():
            _beat = threading.Thread(target=_beat_loop, name="lab-heartbeat", daemon=True)
            _beat.start()


def untrack(run_id: int) -> None:
    with _live_lock:
        _live.discard((settings().db_url, run_id))


def live_runs() -> list[int]:
    """This process's running runs on the configured database."""
    url = settings().db_url
    with _live_lock:
        return sorted(i for u, i in _live if u == url)


def _beat_loop() -> None:
    while True:
        time.sleep(HEARTBEAT_S)
        with _live_lock:
            by_url: dict[str, list[int]] = {}
            for url, run_id in _live:
                by_url.setdefault(url, []).append(run_id)
        for url, ids in by_url.items():
            # a missed beat is harmless: the next one, or the next stored result, refreshes it
            with contextlib.suppress(Exception), db_session(url) as s:
                s.exec(update(Run).where(col(Run.id).in_(ids), Run.status == "running").values(heartbeat_at=now()))
                s.commit()


def interrupt_own_runs() -> list[int]:
    """Mark this process's running runs `interrupted` (on SIGTERM/Ctrl-C), keeping their results."""
    ids = live_runs()
    if ids:
        with session() as s:
            s.exec(update(Run).where(col(Run.id).in_(ids), Run.status == "running").values(status=INTERRUPTED))
            s.commit()
    for i in ids:
        untrack(i)
    return ids


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _owner_gone(run: Run, host: str, at: datetime) -> bool:
    beat = run.heartbeat_at or run.created_at
    if beat is not None and at - aware(beat) > STALE_AFTER:
        return True  # any host, and a reused pid here: no sign of life for too long
    if run.owner_host == host and run.owner_pid is not None:
        return not _pid_alive(run.owner_pid)
    return False


def mark_interrupted_runs() -> list[int]:
    """Mark `running` runs whose owner is gone as `interrupted` (results kept); returns their ids."""
    host, at = socket.gethostname(), now()
    with session() as s:
        running = s.exec(select(Run).where(Run.status == "running")).all()
        gone = [r.id for r in running if _owner_gone(r, host, at)]
        if gone:
            s.exec(update(Run).where(col(Run.id).in_(gone), Run.status == "running").values(status=INTERRUPTED))
            s.commit()
    return gone


def mark_interrupted_runs_once() -> list[int]:
    """`mark_interrupted_runs()` once per process and database (the dashboard reruns its script often)."""
    url = settings().db_url
    with _live_lock:
        if url in _marked_once:
            return []
        _marked_once.add(url)
    return mark_interrupted_runs()
