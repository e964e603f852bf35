"""The HTTP API: same contract as the CLI, clear status codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lab.api import app
from tests.conftest import JFK_REF

client = TestClient(app)


@pytest.fixture(scope="module")
def keys() -> dict[str, dict[str, str]]:
    """Headers for a standard key, one that may use experimental models, and an admin key."""
    from lab.store import create_key

    def header(name: str, **rights: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_key(name, **rights)[0]}"}

    return {"user": header("api-user"), "exp": header("api-exp", experimental=True),
            "admin": header("api-admin", admin=True, experimental=True)}


@pytest.mark.slow
def test_transcribe_upload_store_and_read_back(jfk: Path, keys: dict) -> None:
    h = keys["exp"]
    r = client.post("/transcribe", files={"file": ("jfk.flac", jfk.read_bytes(), "audio/flac")}, headers=h,
                    data={"models": ["faster-whisper:tiny.en", "pocketsphinx:en-us"], "reference": JFK_REF})
    assert r.status_code == 200, r.text
    body = r.json()
    tiny = body["results"][0]
    assert tiny["model"] == "faster-whisper:tiny.en" and tiny["wer"] <= 0.05 and tiny["error"] is None
    run = client.get(f"/runs/{body['run_id']}", headers=h).json()
    assert run["clip"] == "jfk.flac" and len(run["results"]) == 2
    from lab.store import clip_uploads

    assert "api-exp" in [u.uploader for u in clip_uploads(run["clip_id"])]  # the key's name is the uploader
    listed = client.get("/runs", params={"model": "pocketsphinx:en-us", "limit": 5}, headers=h).json()
    assert body["run_id"] in [x["run_id"] for x in listed["runs"]] and listed["total"] >= 1
    assert "<html>" in client.get(f"/runs/{body['run_id']}/report", headers=h).text
    assert client.delete(f"/runs/{body['run_id']}", headers=h).status_code == 403  # not an admin key
    assert client.delete(f"/runs/{body['run_id']}", headers=keys["admin"]).json() == {"deleted": body["run_id"]}
    assert client.get(f"/runs/{body['run_id']}", headers=h).status_code == 404


def test_bad_input_and_refusals_have_clear_status_codes(keys: dict) -> None:
    h = keys["exp"]
    bad = client.post("/transcribe", files={"file": ("x.wav", b"not audio at all", "audio/wav")}, headers=h,
                      data={"models": ["faster-whisper:tiny.en"]})
    assert bad.status_code == 400 and "not a recognised audio" in bad.json()["detail"]
    unknown = client.post("/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")}, data={"models": ["no:pe"]},
                          headers=h)
    assert unknown.status_code == 400 and "unknown model id" in unknown.json()["detail"]
    for beam in (0, -5, 10000):  # refused by the core's option check before any work, as in the CLI
        wide = client.post("/transcribe", files={"file": ("x.wav", b"RIFF", "audio/wav")}, headers=h,
                           data={"models": ["faster-whisper:tiny.en"], "beam_size": str(beam)})
        assert wide.status_code == 400 and "beam size" in wide.json()["detail"], wide.text
    refused = client.post("/models/hibari:en/promote", json={"to": "production", "reason": "why not"},
                          headers=keys["admin"])
    assert refused.status_code == 409 and "[one-step-at-a-time]" in refused.json()["detail"]
    models = {m["id"]: m for m in client.get("/models", headers=h).json()}
    assert models["faster-whisper:tiny.en"]["available"] is True


def test_openapi_declares_the_response_schemas() -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def response(path: str, method: str = "get") -> dict:
        return spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert response("/runs")["$ref"].endswith("/RunsPage")
    assert response("/runs/{run_id}")["$ref"].endswith("/RunDetail")
    assert response("/transcribe", "post")["$ref"].endswith("/TranscribeOut")
    assert response("/asr/transcribe", "post")["$ref"].endswith("/TranscribeOut")
    assert response("/stats")["$ref"].endswith("/StatsOut")
    assert "audio/wav" in spec["paths"]["/tts/synthesize"]["post"]["responses"]["200"]["content"]
    assert set(schemas["RunSummary"]["properties"]) == {"run_id", "kind", "created_at", "status", "clip",
                                                        "duration_s", "models", "best_wer", "errors"}
    assert {"results", "settings", "machine", "summary", "clip_names"} <= set(schemas["RunDetail"]["properties"])
    assert list(schemas["ResultOut"]["properties"])[:8] == ["model", "text", "wer", "cer", "latency_s", "rtfx",
                                                             "load_s", "error"]
    assert set(schemas["MoveOut"]["properties"]) == {"model", "from", "to", "reason", "actor"}
    assert {"SynthesizeIn", "ReadyOut", "RequestStats"} <= set(schemas)


def test_unknown_run_is_404_by_type(keys: dict) -> None:
    r = client.get("/runs/987654321", headers=keys["user"])
    assert r.status_code == 404 and r.json()["detail"] == "no run with id 987654321."
    assert client.delete("/runs/987654321", headers=keys["admin"]).status_code == 404
