"""LFM2.5-Audio engine end to end on CPU, on a tiny random checkpoint built offline.

The weights are random, so nothing here checks what was said or heard: only that the real
liquid-audio path runs (loading from a local Path, ChatState, sequential and interleaved
generation, audio detokenizing) and that the engine reports what happened.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("liquid_audio", reason="liquid-audio is not installed (pip install liquid-audio)")

from safetensors.torch import load_file, save_file  # noqa: E402

from lab.audio import AudioClip, from_array, load_audio  # noqa: E402
from lab.catalog import get_spec  # noqa: E402
from lab.engines import build_engine  # noqa: E402
from lab.engines.base import AsrOptions, LoadConfig, Transcription  # noqa: E402
from lab.engines.lfm_audio import (  # noqa: E402
    VOICES,
    ChatReply,
    ChatTurn,
    LfmAudioEngine,
    Synthesis,
    asr_token_budget,
)
from lab.errors import EngineError  # noqa: E402
from lab.weights import Resolved  # noqa: E402
from tests.tiny_lfm import ENCODER, build_tiny_checkpoint  # noqa: E402

# liquid-audio 1.3.0 still passes past_key_values, the reason transformers is pinned below 5.40
pytestmark = pytest.mark.filterwarnings("ignore:.*past_key_values.*:FutureWarning")
CPU = LoadConfig(device="cpu", compute_type="float32", threads=2)


def _engine(path: Path) -> LfmAudioEngine:
    engine = build_engine(get_spec("lfm2.5-audio:1.5b"), CPU, Resolved("path", path))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("lfm") / "tiny")


@pytest.fixture(scope="module")
def engine(checkpoint: Path) -> LfmAudioEngine:
    return _engine(checkpoint)


@pytest.fixture(scope="module")
def speaker(tmp_path_factory: pytest.TempPathFactory) -> LfmAudioEngine:
    """A tiny model rigged to open audio at once, as the real one does for TTS."""
    return _engine(build_tiny_checkpoint(tmp_path_factory.mktemp("lfm") / "speaker", prefer_audio=True))


@pytest.fixture(scope="module")
def clip(jfk: Path) -> AudioClip:
    full = load_audio(jfk)
    return from_array(full.samples[: 2 * full.sample_rate], full.sample_rate, "jfk-2s")


def test_loads_from_a_local_path(engine: LfmAudioEngine) -> None:
    assert isinstance(engine, LfmAudioEngine)
    assert engine.describe()["voices"] == list(VOICES)
    assert 0 < engine.memory_bytes() < 100 << 20
    # xscaling is on in the tiny config: this needs the `math` workaround
    assert engine.model.conformer.xscale == pytest.approx(math.sqrt(ENCODER["d_model"]))


def test_transcribe(engine: LfmAudioEngine, clip: AudioClip) -> None:
    result = engine.transcribe(clip, AsrOptions(beam_size=1))
    assert isinstance(result, Transcription)
    assert isinstance(result.text, str)
    assert result.language == "en"
    assert result.inference_s > 0
    assert set(result.flags) <= {"truncated"}


def test_transcribe_flags_truncation_at_a_tiny_budget(engine: LfmAudioEngine, clip: AudioClip) -> None:
    result = engine.transcribe(clip, AsrOptions(max_new_tokens=2))
    assert "truncated" in result.flags


def test_asr_budget_grows_with_duration() -> None:
    # liquid-audio's own default of 20 tokens would cut most transcripts short
    assert 20 < asr_token_budget(2.0) < asr_token_budget(30.0)


@pytest.mark.parametrize("voice", list(VOICES))
def test_synthesize_each_voice(speaker: LfmAudioEngine, voice: str) -> None:
    speech = speaker.synthesize("Hello there.", voice, max_new_tokens=6, temperature=None)
    assert isinstance(speech, Synthesis)
    assert speech.sample_rate == 24_000
    assert speech.samples.dtype == np.float32
    assert speech.samples.ndim == 1 and speech.samples.size > 0
    assert np.isfinite(speech.samples).all()
    assert speech.flags == ["truncated"]  # random weights never end the audio on their own
    assert speech.inference_s > 0


def test_synthesize_samples_by_default(speaker: LfmAudioEngine) -> None:
    speech = speaker.synthesize("Hi.", max_new_tokens=4)
    assert speech.samples.dtype == np.float32 and speech.samples.size > 0


def test_synthesize_rejects_unknown_voice(speaker: LfmAudioEngine) -> None:
    with pytest.raises(EngineError, match="us_male"):
        speaker.synthesize("Hello.", "pirate")


def test_chat_answers_with_text_and_audio(engine: LfmAudioEngine, clip: AudioClip) -> None:
    turns = [
        ChatTurn("user", text="Who said this?", audio=clip),
        ChatTurn("assistant", text="A president."),
        ChatTurn("user", text="Which one?"),
    ]
    # interleaved: 6 text tokens, then 12 audio frames, and so on
    reply = engine.chat(turns, max_new_tokens=20, temperature=None)
    assert isinstance(reply, ChatReply)
    assert isinstance(reply.text, str)
    assert reply.sample_rate == 24_000
    assert reply.samples.dtype == np.float32 and reply.samples.size > 0
    assert "truncated" in reply.flags


@pytest.mark.parametrize("damage", ["rename", "drop"])
def test_refuses_checkpoint_missing_a_weight(checkpoint: Path, tmp_path: Path, damage: str) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(checkpoint, broken, ignore=shutil.ignore_patterns("audio_detokenizer"))
    weights = load_file(broken / "model.safetensors")
    tensor = weights.pop("depth_linear.weight")
    if damage == "rename":
        weights["depth_linear.weights"] = tensor
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(EngineError, match="depth_linear.weight"):
        _engine(broken)
