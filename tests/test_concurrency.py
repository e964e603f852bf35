"""Two writers and a reader at once, on both backends, for a bounded time: `lab transcribe` in a loop, a burst
of API requests (uvicorn on loopback) and the History query. Every accepted run is stored once, whole and
readable; no lock or serialization error reaches a user."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import shared

from db.session import get_engine
from lab import store
from lab.settings import settings

MODEL = "faster-whisper:tiny.en"
BURST = 4  # API requests, 2 at a time
CLI_RUNS = 2  # `lab transcribe` runs, one after another
DEADLINE_S = 240  # a bound on the whole exchange on a busy 2-core machine, not a timing assertion
LOCK_ERRORS = ("database is locked", "could not serialize", "deadlock detected", "Traceback")


_KEYS: dict[str, str] = {}


def api_headers() -> dict[str, str]:
    """An API key for the current database (one per database; tiny.en starts experimental, so it may use those)."""
    from lab.store import create_key

    url = settings().db_url
    if url not in _KEYS:
        _KEYS[url] = create_key("concurrency-test", experimental=True)[0]
    return {"X-API-Key": _KEYS[url]}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "lab.api:app", "--host", "127.0.0.1", "--port",
                             str(port)], stdout=log.open("w"), stderr=subprocess.STDOUT, env=dict(os.environ))
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/models", timeout=2)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(log.read_text()) from None
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the API did not start")


def _post(port: int, clip: Path) -> int:
    with clip.open("rb") as f:
        r = httpx.post(f"http://127.0.0.1:{port}/transcribe", files={"file": (clip.name, f)},
                       data={"models": MODEL}, headers=api_headers(), timeout=DEADLINE_S)
    assert r.status_code == 200, r.text
    return r.json()["run_id"]


def _cli_loop(clip: Path, out: list[int], errors: list[str]) -> None:
    for _ in range(CLI_RUNS):
        p = subprocess.run([sys.executable, "-m", "lab.serve.cli", "transcribe", str(clip), "-m", MODEL, "--json"],
                           capture_output=True, text=True, timeout=DEADLINE_S, env=dict(os.environ))
        if p.returncode != 0 or any(e in p.stderr for e in LOCK_ERRORS):
            errors.append(p.stderr)
            continue
        out.append(json.loads(p.stdout)["run_id"])


def _read_history(stop: threading.Event, seen: list[int], errors: list[str]) -> None:
    """The History query while the writers write: a finished run is never seen half written."""
    while not stop.is_set():
        try:
            for summary in store.list_runs(limit=50):
                if summary.status == "done":
                    assert len(store.get_run(summary.run_id).results) == 1, summary
                    seen.append(summary.run_id)
        except Exception as e:  # noqa: BLE001 - any failure of the reader is the test's finding
            errors.append(f"{type(e).__name__}: {e}")
        time.sleep(0.05)


@pytest.mark.slow
def test_two_writers_and_a_reader(backend_db: str, tmp_path: Path) -> None:
    get_engine(settings().db_url)  # migrate before the writers start (a second migrator waits on the lock)
    api_headers()  # the key exists before the burst
    clip = shared("stereo_diarization.wav")
    port = _port()
    server = _serve(port, tmp_path / "api.log")
    cli_ids: list[int] = []
    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_history, args=(stop, seen, errors))
    reader.start()
    try:
        cli = threading.Thread(target=_cli_loop, args=(clip, cli_ids, errors))
        cli.start()
        with ThreadPoolExecutor(2) as pool:
            api_ids = list(pool.map(lambda _: _post(port, clip), range(BURST)))
        cli.join(DEADLINE_S)
    finally:
        stop.set()
        reader.join()
        server.terminate()
        server.wait(30)
    log = (tmp_path / "api.log").read_text()
    assert not errors and not any(e in log for e in LOCK_ERRORS), (errors, log[-2000:])
    accepted = api_ids + cli_ids
    assert len(accepted) == BURST + CLI_RUNS and len(set(accepted)) == len(accepted)
    assert store.count_runs() == len(accepted)  # each stored exactly once
    for run_id in accepted:
        run = store.get_run(run_id)
        assert run.status == "done" and [r.model_id for r in run.results] == [MODEL] and run.results[0].text
    # one clip stored once; one upload row per uploader: the CLI's user and the API key's name
    uploads = store.clip_uploads(store.get_run(accepted[0]).clip_id)
    assert sorted(u.uploader for u in uploads) == sorted([settings().user, "concurrency-test"])
    assert set(seen) <= set(accepted)
