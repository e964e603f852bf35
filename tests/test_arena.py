"""Blind A/B trials, Bradley-Terry ratings, and TTS runs through the CLI on the tiny LFM checkpoint."""

from __future__ import annotations

import json
import random
import wave
from pathlib import Path

import pytest

from db.models import Vote
from lab.errors import LabError
from lab.eval import arena
from lab.settings import reload_settings
from lab.store import session
from tests.conftest import run_lab as lab


def test_trial_is_blind_until_voted_and_needs_both_played(fresh_db: str) -> None:
    models = ["faster-whisper:tiny.en", "pocketsphinx:en-us", "faster-whisper:base"]
    trial = arena.new_trial("asr", models, prompt="jfk.flac", rng=random.Random(3))
    assert trial.model_a != trial.model_b and {trial.model_a, trial.model_b} <= set(models)
    assert (trial.label("a"), trial.label("b")) == ("A", "B")
    with pytest.raises(LabError, match="play both"):
        trial.vote("a")
    trial.mark_played("a")
    with pytest.raises(LabError, match="play both"):
        trial.vote("a")
    trial.mark_played("b")
    with pytest.raises(LabError, match="vote must be one of"):
        trial.vote("c")
    row = trial.vote("b", voter="ana")
    assert trial.label("a") == trial.model_a and trial.label("b") == trial.model_b  # revealed
    with pytest.raises(LabError, match="already has a vote"):
        trial.vote("a")
    with session() as s:
        stored = s.get(Vote, row.id)
    assert (stored.model_a, stored.model_b, stored.winner, stored.voter) == (trial.model_a, trial.model_b, "b", "ana")
    with pytest.raises(LabError, match="at least two"):
        arena.new_trial("asr", ["faster-whisper:tiny.en"])


def _vote(task: str, a: str, b: str, winner: str, n: int) -> None:
    with session() as s:
        for _ in range(n):
            s.add(Vote(task=task, model_a=a, model_b=b, winner=winner))
        s.commit()


def test_bradley_terry_orders_models_and_respects_minimum_votes(fresh_db: str) -> None:
    x, y, z, w = "hibari:en", "lfm2.5-audio:1.5b", "piper:en_US-joe-medium", "pocketsphinx:en-us"
    _vote("tts", x, y, "a", 12)
    _vote("tts", x, y, "b", 3)
    _vote("tts", y, z, "a", 10)
    _vote("tts", y, z, "tie", 4)
    _vote("tts", z, x, "b", 9)
    _vote("tts", z, x, "both_bad", 2)
    _vote("tts", w, x, "b", 2)  # w has only 2 votes: shown, not ranked
    board = arena.leaderboard("tts", min_votes=5)
    ranked = [r for r in board if r.ranked]
    assert [r.model for r in ranked] == [x, y, z] and [r.rank for r in ranked] == [1, 2, 3]
    for r in ranked:
        assert r.ci[0] <= r.rating <= r.ci[1]
    assert ranked[0].ci[0] > ranked[2].ci[1]  # 21 wins of 26 vs 0 wins: clearly separated
    last = board[-1]
    assert last.model == w and not last.ranked and last.rank is None and last.votes == 2
    assert arena.leaderboard("asr") == []
    # symmetric evidence gives equal ratings
    _vote("sym", x, y, "a", 5)
    _vote("sym", x, y, "b", 5)
    a, b = arena.leaderboard("sym")
    assert a.rating == pytest.approx(b.rating, abs=1e-6)


@pytest.fixture(scope="module")
def tiny_lfm_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("liquid_audio", reason="liquid-audio is not installed")
    from tests.tiny_lfm import build_tiny_checkpoint

    root = tmp_path_factory.mktemp("weights")
    build_tiny_checkpoint(root / "lfm2.5-audio" / "1.5b", prefer_audio=True)
    return root


@pytest.mark.slow
def test_synthesize_cli_with_lfm_from_lab_weights_dir(tiny_lfm_weights: Path, tmp_path: Path) -> None:
    env = {"LAB_WEIGHTS_DIR": str(tiny_lfm_weights)}
    models = json.loads(lab("models", "--json", env=env).stdout)
    lfm = next(m for m in models if m["id"] == "lfm2.5-audio:1.5b")
    assert lfm["available"] and lfm["source"] == "LAB_WEIGHTS_DIR"
    out = tmp_path / "hello.wav"
    p = lab("synthesize", "Hello there.", "-m", "lfm2.5-audio:1.5b", "--voice", "uk_male", "-o", str(out), "--json",
            env=env)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert {"run_id", "model", "voice", "path", "duration_s", "latency_s", "rtf"} <= set(r)
    assert r["voice"] == "uk_male" and r["duration_s"] > 0 and r["rtf"] > 0
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24_000 and w.getnframes() / 24_000 == pytest.approx(r["duration_s"], abs=1e-3)
    history = json.loads(lab("history", "--limit", "1", "--json").stdout)[0]
    assert history["run_id"] == r["run_id"] and history["kind"] == "tts"
    bad_voice = lab("synthesize", "Hi.", "-m", "lfm2.5-audio:1.5b", "--voice", "martian", "-o", str(out), env=env)
    assert bad_voice.returncode == 2 and "unknown voice 'martian'" in bad_voice.stderr
    too_long = lab("synthesize", "word " * 300, "-m", "lfm2.5-audio:1.5b", "-o", str(out), env=env)
    assert too_long.returncode == 2 and "too long" in too_long.stderr
    empty = lab("synthesize", "  ", "-m", "lfm2.5-audio:1.5b", "-o", str(out), env=env)
    assert empty.returncode == 2 and "empty" in empty.stderr
    not_tts = lab("synthesize", "Hi.", "-m", "faster-whisper:tiny.en", "-o", str(out), env=env)
    assert not_tts.returncode == 2 and "not a TTS model" in not_tts.stderr


def test_multi_turn_chat_on_the_tiny_checkpoint_is_kept_and_stored(tiny_lfm_weights: Path, jfk: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.audio import load_audio
    from lab.chat import Conversation
    from lab.loading import ModelCache
    from lab.store import get_run

    monkeypatch.setenv("LAB_WEIGHTS_DIR", str(tiny_lfm_weights))
    reload_settings()
    cache = ModelCache()
    conv = Conversation("lfm2.5-audio:1.5b")
    first = conv.say("Hello, who are you?", cache=cache, max_new_tokens=12)
    second = conv.say(audio=load_audio(jfk), cache=cache, max_new_tokens=12)
    for ex in (first, second):
        assert ex.error is None and isinstance(ex.reply.text, str) and ex.reply.samples.dtype.name == "float32"
    assert [t.role for t in conv.turns()] == ["user", "assistant", "user", "assistant"]
    assert cache.loads == 1
    with pytest.raises(LabError, match="say something"):
        conv.say("  ")
    run = get_run(conv.save())
    assert run.kind == "chat" and [r.extra["turn"] for r in run.results] == [0, 1]
    assert run.results[0].extra["user_text"] == "Hello, who are you?"
    with pytest.raises(LabError, match="cannot chat"):
        Conversation("faster-whisper:tiny.en")
