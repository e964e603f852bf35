"""The `lab` CLI contract: exact forms, JSON keys, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lab.audio import SAMPLE_RATE, to_wav_bytes
from tests.conftest import JFK_REF
from tests.conftest import run_lab as lab


def assert_clean_error(p: subprocess.CompletedProcess, code: int, words: str) -> None:
    assert p.returncode == code, (p.stdout, p.stderr)
    err = p.stderr.strip()
    assert words in err and "Traceback" not in p.stderr and len(err.splitlines()) == 1, err


def test_models_json_lists_catalog_with_state_and_availability() -> None:
    p = lab("models", "--json")
    assert p.returncode == 0, p.stderr
    models = {m["id"]: m for m in json.loads(p.stdout)}
    for needed in ["faster-whisper:tiny.en", "faster-whisper:base", "openai-whisper:tiny.en", "openai-whisper:base",
                   "transformers:whisper-tiny.en", "transformers:seamless-m4t-v2-large", "lfm2.5-audio:1.5b",
                   "pocketsphinx:en-us"]:
        assert {"id", "runtime", "tasks", "state", "available"} <= set(models[needed])
    assert models["faster-whisper:tiny.en"]["available"] is True
    assert models["faster-whisper:tiny.en"]["state"] == "experimental"
    # the LFM weights cannot be had here: unavailable, with one sentence saying how to get them
    lfm = models["lfm2.5-audio:1.5b"]
    assert lfm["available"] is False and "LiquidAI/LFM2.5-Audio-1.5B" in lfm["hint"]


@pytest.mark.slow
def test_transcribe_json_contract_and_history(jfk: Path) -> None:
    p = lab("transcribe", str(jfk), "-m", "faster-whisper:tiny.en", "-m", "pocketsphinx:en-us", "--ref", JFK_REF,
            "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert isinstance(out["run_id"], int) and len(out["results"]) == 2
    for r in out["results"]:
        assert {"model", "text", "wer", "cer", "latency_s", "rtfx", "load_s", "error"} <= set(r)
        assert r["error"] is None and r["latency_s"] > 0 and r["rtfx"] > 0 and r["load_s"] > 0
    tiny = out["results"][0]
    assert tiny["model"] == "faster-whisper:tiny.en" and tiny["wer"] <= 0.05 and "fellow Americans" in tiny["text"]
    h = lab("history", "--limit", "1", "--json")
    assert h.returncode == 0
    newest = json.loads(h.stdout)[0]
    assert newest["run_id"] == out["run_id"] and newest["clip"] == "jfk.flac"
    assert newest["models"] == ["faster-whisper:tiny.en", "pocketsphinx:en-us"]


@pytest.mark.slow
def test_transcribe_without_reference_has_null_wer(tmp_path: Path, jfk: Path) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text(JFK_REF)
    p = lab("transcribe", str(jfk), "-m", "pocketsphinx:en-us", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)["results"][0]
    assert r["wer"] is None and r["cer"] is None and r["text"]
    q = lab("transcribe", str(jfk), "-m", "pocketsphinx:en-us", "--ref-file", str(ref), "--json")
    assert json.loads(q.stdout)["results"][0]["wer"] < 0.5


def _bad_files(d: Path) -> dict[str, Path]:
    files = {
        "empty.wav": b"",
        "notes.txt": b"not audio\n" * 50,
        "corrupt.flac": b"fLaC\x00\x00\x00\x22" + bytes(np.random.default_rng(1).integers(0, 256, 3000, np.uint8)),
        "short.wav": to_wav_bytes(np.full(800, 0.2, np.float32)),
        "silent.wav": to_wav_bytes(np.zeros(SAMPLE_RATE * 2, np.float32)),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return {n: d / n for n in files}


@pytest.mark.parametrize("name,words", [
    ("empty.wav", "empty"), ("notes.txt", "not a recognised audio"), ("corrupt.flac", "corrupt"),
    ("short.wav", "too short"), ("silent.wav", "silent"),
])
def test_bad_audio_exits_2_with_one_line(tmp_path: Path, name: str, words: str) -> None:
    path = _bad_files(tmp_path)[name]
    assert_clean_error(lab("transcribe", str(path), "-m", "faster-whisper:tiny.en"), 2, words)


def test_too_long_audio_exits_2(jfk: Path) -> None:
    p = lab("transcribe", str(jfk), "-m", "faster-whisper:tiny.en", env={"LAB_MAX_AUDIO_S": "5"})
    assert_clean_error(p, 2, "too long")


@pytest.mark.parametrize("args,words", [
    (["transcribe", "JFK", "-m", "nope:model"], "unknown model id 'nope:model'"),
    (["transcribe", "JFK"], "at least one model"),
    (["transcribe", "JFK", "-m", "faster-whisper:tiny.en", "--ref", "x", "--ref-file", "JFK"], "not both"),
    (["transcribe", "JFK", "-m", "faster-whisper:tiny.en", "--ref-file", "/no/such/ref.txt"], "no such reference"),
    (["transcribe", "/no/such/file.wav", "-m", "faster-whisper:tiny.en"], "no such file"),
    (["transcribe", "JFK", "-m", "faster-whisper:tiny.en", "--beam-size", "0"], "beam size"),
    (["history", "--limit", "abc"], "limit"),
    (["frobnicate"], "No such command"),
    (["--user", " ", "history"], "--user needs a name"),
])
def test_usage_errors_exit_2(args: list[str], words: str, jfk: Path) -> None:
    args = [str(jfk) if a == "JFK" else a for a in args]
    assert_clean_error(lab(*args), 2, words)


@pytest.mark.slow
def test_unavailable_model_is_an_error_result_not_a_crash(jfk: Path) -> None:
    p = lab("transcribe", str(jfk), "-m", "lfm2.5-audio:1.5b", "-m", "pocketsphinx:en-us", "--json")
    assert p.returncode == 0, p.stderr
    res = {r["model"]: r for r in json.loads(p.stdout)["results"]}
    assert res["lfm2.5-audio:1.5b"]["error"] and res["pocketsphinx:en-us"]["text"]
    only = lab("transcribe", str(jfk), "-m", "lfm2.5-audio:1.5b", "--json")
    assert only.returncode == 1 and json.loads(only.stdout)["results"][0]["error"]


@pytest.mark.slow
def test_doctor_reports_engines_and_database() -> None:
    p = lab("doctor")
    assert p.returncode == 0, p.stderr
    assert "python" in p.stdout and "database" in p.stdout and "sqlite" in p.stdout
    assert "faster-whisper:tiny.en" in p.stdout and "pocketsphinx:en-us" in p.stdout
