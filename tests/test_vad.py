"""Silero and WebRTC VAD on the shared recordings and on generated silence; VAD first in front of ASR."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest

from lab.audio import load_audio
from lab.catalog import models_for
from lab.engines.base import Segment, Word
from lab.runner import transcribe_one
from lab.vad import agreement, detect, speech_only, transcribe_vad_first, words_in_speech
from tests.conftest import shared

VADS = ["silero-vad:v5", "webrtc-vad:2"]


def _clips() -> list[str]:
    names = []
    for listing in ("manifest.csv", "extra.csv"):
        with shared(listing).open(newline="") as f:
            names += [r["file"] for r in csv.DictReader(f)]
    return names


def test_vads_are_catalog_models_of_task_vad() -> None:
    assert {s.id for s in models_for("vad")} >= set(VADS)


@pytest.mark.slow
@pytest.mark.parametrize("vad", VADS)
def test_vad_finds_speech_in_every_shared_clip_and_none_in_silence(vad: str) -> None:
    for name in _clips():
        clip = load_audio(shared(name))
        r = detect(clip, vad)
        assert r.error is None and r.segments, f"{vad} found no speech in {name}"
        assert 0 < r.speech_ratio <= 1
    silence = replace(clip, samples=np.zeros(16000 * 5, dtype=np.float32))
    r = detect(silence, vad)
    assert r.error is None and r.segments == [] and r.speech_ratio == 0


def test_agreement_and_word_coverage() -> None:
    a, b = [Segment(0.0, 1.0, "speech")], [Segment(0.5, 1.0, "speech")]
    assert agreement(a, b, 2.0) == pytest.approx(0.75)
    words = [Word(0.1, 0.3, "yes"), Word(1.5, 1.8, "no")]
    assert words_in_speech(a, words) == 0.5 and words_in_speech(a, []) is None


@pytest.mark.slow
def test_vad_first_skips_silence_and_keeps_the_words() -> None:
    jfk = load_audio(shared("jfk.flac"))
    pad = np.zeros(16000 * 5, dtype=np.float32)
    padded = replace(jfk, samples=np.concatenate([pad, jfk.samples, pad]), data=b"")
    segments = detect(padded, "silero-vad:v5").segments
    speech, _ = speech_only(padded, segments)
    assert speech.duration_s < padded.duration_s - 8  # most of the 10 s of padding is skipped
    plain = transcribe_one(padded, "faster-whisper:tiny.en")
    first = transcribe_vad_first(padded, "faster-whisper:tiny.en", "silero-vad:v5")
    assert first.error is None and "country" in first.text.lower()
    assert first.words[0].start >= 4.5  # times map back onto the padded clip
    # generated silence: nothing to decode, so nothing is "heard"
    silent = replace(jfk, samples=np.zeros(16000 * 5, dtype=np.float32), data=b"")
    assert transcribe_vad_first(silent, "faster-whisper:tiny.en", "silero-vad:v5").text == ""
    assert plain.text


@pytest.mark.slow
def test_vad_results_are_stored_in_the_run_and_summarised(fresh_db: str) -> None:
    from lab import store
    from lab.runner import Comparison
    from lab.vad import detect_into_run, is_vad, summary_rows

    clip = load_audio(shared("jfk.flac"))
    comp = Comparison(clip, ["faster-whisper:tiny.en"])
    comp.run_model("faster-whisper:tiny.en")
    for vad in VADS:
        detect_into_run(comp.run_id, clip, vad)
    comp.finish()
    rows = store.get_run(comp.run_id).results
    assert [r.model_id for r in rows if is_vad(r)] == VADS
    stored = next(r for r in rows if r.model_id == VADS[0])
    assert stored.segments and 0.5 < stored.extra["speech_ratio"] <= 1  # JFK speaks most of the clip
    table = {t["VAD"]: t for t in summary_rows(rows, clip.duration_s)}
    silero = table[VADS[0]]
    assert silero["Speech (%)"] == round(100 * stored.extra["speech_ratio"], 1)
    assert 50 < silero[f"Agrees with {VADS[1]} (%)"] <= 100
    assert silero["faster-whisper:tiny.en words in speech (%)"] >= 90  # the words lie in what the VAD calls speech


@pytest.mark.slow
def test_cli_vad_json_matches_lab_vad() -> None:
    import json

    from lab.vad import report
    from tests.conftest import run_lab

    out = run_lab("vad", str(shared("jfk.flac")), "-m", VADS[0], "-m", VADS[1], "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["model"] for r in data["results"]] == VADS
    assert all(r["error"] is None and r["segments"] and 0.5 < r["speech_ratio"] <= 1 for r in data["results"])
    (pair,) = data["agreement"]
    clip = load_audio(shared("jfk.flac"))
    again = report(clip, VADS)  # the detectors are deterministic: the CLI prints lab.vad's own numbers
    assert pair["agreement"] == pytest.approx(again["agreement"][0]["agreement"])
    assert [r["speech_ratio"] for r in data["results"]] == pytest.approx([r["speech_ratio"] for r in again["results"]])
    wrong = run_lab("vad", str(shared("jfk.flac")), "-m", "faster-whisper:tiny.en")
    assert wrong.returncode == 2 and "not a VAD" in wrong.stderr


def test_webrtc_vad_gives_a_clip_the_same_segments_every_time() -> None:
    clip = load_audio(shared("jfk.flac"))
    first = detect(clip, "webrtc-vad:2").segments
    detect(load_audio(shared("beckett.wav")), "webrtc-vad:2")
    assert detect(clip, "webrtc-vad:2").segments == first == detect(clip, "webrtc-vad:2").segments
