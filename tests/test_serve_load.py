"""The API under load: a real `lab serve` on loopback, a burst on a cold server, and a fuzzing run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_lab


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`lab serve` in a subprocess on a free loopback port, with a database of its own and an
    experimental key: (base URL, headers). Waits at most 60 s for it to answer."""
    env = {**os.environ, "LAB_DB_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}", "LAB_CLIPS_DIR": str(tmp_path / "c")}
    made = run_lab("apikey", "create", "burst", "--experimental", env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lab.serve.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read().decode()
        else:
            pytest.fail("lab serve did not answer within 60 s")
        yield url, {"X-API-Key": made.stdout.strip()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_real_server_cold_burst_stores_every_request_once_with_its_own_latency(server: tuple, jfk: Path) -> None:
    url, key = server
    assert httpx.get(f"{url}/runs", timeout=10).status_code == 401
    assert httpx.get(f"{url}/ready", headers=key, timeout=60).status_code == 200
    audio = jfk.read_bytes()

    def one(_i: int) -> httpx.Response:
        return httpx.post(f"{url}/asr/transcribe", headers=key, timeout=300,
                          files={"file": ("jfk.flac", audio, "audio/flac")}, data={"model": "faster-whisper:tiny.en"})

    with ThreadPoolExecutor(6) as pool:  # all at once, before the model is loaded
        answers = list(pool.map(one, range(6)))
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    run_ids = [r.json()["run_id"] for r in answers]
    assert len(set(run_ids)) == 6
    results = []
    for run_id in run_ids:
        run = httpx.get(f"{url}/runs/{run_id}", headers=key, timeout=10).json()
        assert len(run["results"]) == 1  # stored once
        results.append(run["results"][0])
    assert all(r["error"] is None and "country" in r["text"] for r in results)
    assert len({r["load_s"] for r in results}) == 1 and sum(r["cached"] is False for r in results) == 1  # one load
    assert all(r["queue_s"] is not None and r["latency_s"] is not None for r in results)
    # one model at a time: the last in line waited through others' runs, and that wait is not in its latency
    last = max(results, key=lambda r: r["queue_s"])
    assert last["queue_s"] > min(r["latency_s"] for r in results)
    stats = httpx.get(f"{url}/stats", headers=key, timeout=10).json()
    assert {s["group"]: s["requests"] for s in stats["by_model"]}["faster-whisper:tiny.en"] == 6


@pytest.mark.slow
def test_fuzzed_requests_with_a_valid_key_never_get_a_5xx(fresh_db: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from lab.api import app
    from lab.serve.security import reset_limits
    from lab.settings import override
    from lab.store import create_key

    headers = {"Authorization": f"Bearer {create_key('fuzz')[0]}"}  # standard: no experimental models
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: list[tuple[str, int]] = []
    reset_limits()
    with override(rate_limit="100000/minute"):
        for op in schema.get_all_operations():
            operation = op.ok()

            strategy = operation.as_strategy()

            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def check(case) -> None:  # noqa: ANN001
                response = case.call(headers=headers)
                seen.append((case.operation.label, response.status_code))
                assert response.status_code < 500, (case.operation.label, response.status_code, response.text[:300])

            check()
    assert len(seen) >= 200 and not [s for s in seen if s[1] >= 500]
