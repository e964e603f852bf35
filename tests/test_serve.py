"""Serving safely: keys, admin rights, rate limits, upload limits, queues, aliases, /ready, /stats."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lab.api import app
from lab.settings import override

client = TestClient(app)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def keys(fresh_db: str) -> dict[str, dict[str, str]]:
    """A database of its own (lifecycle states start at their defaults) with a key of each kind."""
    from lab.store import create_key

    return {"user": _bearer(create_key("user")[0]), "exp": _bearer(create_key("exp", experimental=True)[0]),
            "admin": {"X-API-Key": create_key("boss", admin=True)[0]}}


def _set_state(model_id: str, state: str) -> None:
    from lab import store
    from lab.store import Transition

    store.record_transitions([Transition(model_id=model_id, from_state=None, to_state=state, reason="test",
                                         actor="test", metrics={})])


def test_health_is_open_everything_else_needs_a_valid_key(keys: dict) -> None:
    from lab.store import create_key, revoke_key

    assert client.get("/health").json() == {"ok": True}
    for method, path in [("get", "/ready"), ("get", "/models"), ("get", "/runs"), ("get", "/runs/1"),
                         ("get", "/stats"), ("post", "/asr/transcribe"), ("post", "/tts/synthesize"),
                         ("delete", "/runs/1"), ("get", "/runs/1/report")]:
        r = client.request(method, path)
        assert r.status_code == 401 and "API key" in r.json()["detail"], (path, r.text)
    assert client.get("/runs", headers=_bearer("lab_not-a-key")).status_code == 401
    key, _ = create_key("short-lived")
    assert client.get("/runs", headers=_bearer(key)).status_code == 200
    revoke_key("short-lived")
    assert client.get("/runs", headers=_bearer(key)).json()["detail"] == "unknown or revoked API key."


def test_admin_only_for_delete_and_promote(keys: dict) -> None:
    r = client.delete("/runs/1", headers=keys["exp"])
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert client.post("/models/hibari:en/promote", json={"to": "candidate", "reason": "x"},
                       headers=keys["user"]).status_code == 403
    refused = client.post("/models/hibari:en/promote", json={"to": "candidate", "reason": "x"}, headers=keys["admin"])
    assert refused.status_code == 409 and "[needs-evaluation]" in refused.json()["detail"]
    assert client.delete("/runs/1", headers=keys["admin"]).status_code == 404


def test_experimental_models_need_a_key_that_allows_them(keys: dict) -> None:
    r = client.post("/asr/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")},
                    data={"model": "faster-whisper:tiny.en"}, headers=keys["user"])
    assert r.status_code == 403 and "experimental" in r.json()["detail"]
    r = client.post("/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")},
                    data={"models": ["faster-whisper:tiny.en"]}, headers=keys["user"])
    assert r.status_code == 403


def test_wrong_task_unknown_alias_and_bad_ids_are_4xx(keys: dict) -> None:
    h = keys["exp"]
    tts = client.post("/asr/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")},
                      data={"model": "hibari:en"}, headers=h)
    assert tts.status_code == 400 and tts.json()["detail"] == "hibari:en does not do asr; its tasks: tts."
    none = client.post("/asr/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")},
                       data={"model": "production"}, headers=h)
    assert none.status_code == 404 and "no production model for asr" in none.json()["detail"]
    asr = client.post("/tts/synthesize", json={"text": "hi", "model": "faster-whisper:tiny.en"}, headers=h)
    assert asr.status_code == 400 and "its tasks: asr" in asr.json()["detail"]
    for path in ["/runs/99999999999999999999", "/runs/9223372036854775808/report", "/runs?offset=99999999999999999999"]:
        r = client.get(path, headers=h)
        assert r.status_code == 422 and isinstance(r.json()["detail"], str), r.text
    assert client.get("/runs/9223372036854775807", headers=h).status_code == 404
    assert client.get("/stats?window_s=-1", headers=h).status_code == 422
    assert client.post("/tts/synthesize", json={"text": ""}, headers=h).status_code == 422


def test_uploads_over_the_limit_are_413_even_when_streamed(keys: dict) -> None:
    h = keys["exp"]
    with override(max_upload_mb=0.01):
        big = b"\0" * 20_000
        r = client.post("/asr/transcribe", files={"file": ("x.wav", big, "audio/wav")},
                        data={"model": "faster-whisper:tiny.en"}, headers=h)
        assert r.status_code == 413 and "0.01 MiB" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(50):
                yield b"\0" * 1000

        r = client.post("/asr/transcribe", content=chunks(), headers={**h, "Content-Type": "multipart/form-data; "
                                                                       "boundary=xyz"})
        assert r.status_code == 413


def test_rate_limit_per_key_is_429_with_retry_after(keys: dict) -> None:
    from lab.serve.security import reset_limits

    reset_limits()
    try:
        with override(rate_limit="3/minute"):
            codes = [client.get("/runs", headers=keys["user"]).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = client.get("/runs", headers=keys["user"])
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            assert client.get("/runs", headers=keys["exp"]).status_code == 200  # another key, its own limit
    finally:
        reset_limits()


def test_a_full_queue_is_503_with_retry_after(keys: dict, jfk: Path) -> None:
    from lab.serve.api import reset_scheduler, scheduler

    reset_scheduler()
    gate = threading.Event()
    try:
        with override(queue_length=1):
            busy = scheduler()
            holder = threading.Thread(target=lambda: busy.run("faster-whisper:tiny.en", lambda _q: gate.wait(30)))
            holder.start()
            while scheduler().waiting("faster-whisper:tiny.en") == 0:
                time.sleep(0.01)
            r = client.post("/asr/transcribe", files={"file": ("jfk.flac", jfk.read_bytes(), "audio/flac")},
                            data={"model": "faster-whisper:tiny.en"}, headers=keys["exp"])
            assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 and "waiting" in r.json()["detail"]
            gate.set()
            holder.join()
    finally:
        gate.set()
        reset_scheduler()


def test_ready_is_503_when_the_database_is_broken(keys: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.settings import reload_settings

    ok = client.get("/ready", headers=keys["user"])
    assert ok.status_code == 200 and ok.json()["ready"] and "faster-whisper:tiny.en" in ok.json()["engines"]
    key = keys["user"]
    from lab.serve import security

    monkeypatch.setattr(security.store, "verify_key", lambda _k: _fake_key())  # the key store is that database
    monkeypatch.setenv("LAB_DB_URL", f"sqlite:///{tmp_path}")  # a folder, not a database file
    reload_settings()
    r = client.get("/ready", headers=key)
    assert r.status_code == 503 and "database unreachable" in r.json()["detail"]
    assert client.get("/health").json() == {"ok": True}


def _fake_key():  # noqa: ANN202
    from datetime import UTC, datetime

    from lab.store import ApiKeyRecord

    return ApiKeyRecord(id=1, name="x", prefix="lab_x", admin=False, experimental=False, created_at=datetime.now(UTC))


def test_models_never_show_server_paths(keys: dict) -> None:
    models = client.get("/models", headers=keys["user"]).json()
    assert all(m["path"] is None for m in models) and "path" in models[0]
    assert not any("/root/" in (m["hint"] or "") or "/work/" in (m["hint"] or "") for m in models)


@pytest.mark.slow
def test_alias_transcribe_stores_the_run_queue_wait_and_a_safe_clip_name(keys: dict, jfk: Path) -> None:
    _set_state("faster-whisper:tiny.en", "candidate")  # now a standard key may use it, by name or alias
    long_name = "interview " + "x" * 300 + "." + "y" * 400
    r = client.post("/asr/transcribe", files={"file": (long_name, jfk.read_bytes(), "audio/flac")},
                    data={"model": "candidate", "language": "en", "reference": "ask not what your country can do"},
                    headers=keys["user"])
    assert r.status_code == 200, r.text
    body = r.json()
    (res,) = body["results"]
    assert res["model"] == "faster-whisper:tiny.en" and "country" in res["text"] and res["wer"] is not None
    assert res["queue_s"] is not None and res["error"] is None
    run = client.get(f"/runs/{body['run_id']}", headers=keys["user"]).json()
    assert run["kind"] == "api" and run["results"][0]["queue_s"] == res["queue_s"]
    assert run["clip"].startswith("interview xxx") and len(run["clip"]) <= 200
    stats = client.get("/stats", headers=keys["user"]).json()
    by_model = {s["group"]: s for s in stats["by_model"]}
    assert by_model["faster-whisper:tiny.en"]["requests"] >= 1
    assert {"user"} <= {s["group"] for s in stats["by_key"]} and stats["total"]["p95_s"] is not None


@pytest.mark.slow
def test_tts_synthesize_returns_wav_with_run_id_and_timings(keys: dict) -> None:
    r = client.post("/tts/synthesize", json={"text": "Hello from the lab.", "model": "hibari:en"},
                    headers=keys["exp"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav" and r.content[:4] == b"RIFF"
    assert float(r.headers["X-Latency-S"]) > 0 and float(r.headers["X-Queue-S"]) >= 0
    run = client.get(f"/runs/{r.headers['X-Run-Id']}", headers=keys["exp"]).json()
    assert run["kind"] == "tts" and run["results"][0]["queue_s"] is not None
    bad_voice = client.post("/tts/synthesize", json={"text": "Hi", "model": "hibari:en", "voice": "nobody"},
                            headers=keys["exp"])
    assert bad_voice.status_code == 400 and "unknown voice" in bad_voice.json()["detail"]


@pytest.mark.slow
def test_apikey_cli_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_lab

    env = {"LAB_DB_URL": f"sqlite:///{tmp_path / 'keys.sqlite'}"}
    made = run_lab("apikey", "create", "ci", "--admin", env=env)
    key = made.stdout.strip()
    assert made.returncode == 0 and key.startswith("lab_") and "not shown again" in made.stderr
    listed = run_lab("apikey", "list", "--json", env=env)
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "ci" and row["admin"] and key not in listed.stdout and key.startswith(row["prefix"])
    assert key not in (tmp_path / "keys.sqlite").read_bytes().decode("latin-1")
    assert run_lab("apikey", "revoke", "ci", env=env).returncode == 0
    again = run_lab("apikey", "revoke", "ci", env=env)
    assert again.returncode == 2 and again.stderr.strip() == "lab: no active key named 'ci'."
