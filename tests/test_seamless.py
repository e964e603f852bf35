"""SeamlessM4T v2 through the transformers engine, on a tiny random-weight checkpoint built here.

The real checkpoint is 2.3 B parameters and lives on the hub; this one has the same structure,
tokenizer kind, processor and generation config, so loading, language codes and decoding are real.
Random weights say nothing about accuracy: only shapes, types and control flow are asserted.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from lab.audio import SAMPLE_RATE, from_array
from lab.catalog import get_spec
from lab.engines import AsrOptions, LoadConfig, build_engine
from lab.engines.transformers_asr import quiet_split, seamless_language
from lab.errors import EngineError
from lab.weights import Resolved

LANGS = ("eng", "fra", "deu")
SENTENCES = [
    "and so my fellow americans ask not what your country can do for you",
    "ask what you can do for your country",
    "it was the best of times it was the worst of times",
    "ever tried ever failed no matter try again fail again fail better",
    "the horizon seems extremely distant",
]


def _tokenizer(folder: Path):
    import sentencepiece as spm
    from transformers import SeamlessM4TTokenizer

    model = io.BytesIO()
    # sentencepiece's default ids (unk 0, bos 1, eos 2) are what the fairseq-style offset expects
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES), model_writer=model, vocab_size=60, model_type="bpe", minloglevel=2
    )
    (folder / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    return SeamlessM4TTokenizer.from_pretrained(folder, extra_special_tokens=[f"__{c}__" for c in LANGS])


def _tiny_checkpoint(folder: Path) -> Path:
    import torch
    from transformers import (
        GenerationConfig,
        SeamlessM4TFeatureExtractor,
        SeamlessM4TProcessor,
        SeamlessM4Tv2Config,
        SeamlessM4Tv2ForSpeechToText,
    )

    tokenizer = _tokenizer(folder)
    config = SeamlessM4Tv2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        speech_encoder_layers=1,
        speech_encoder_attention_heads=2,
        speech_encoder_intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = SeamlessM4Tv2ForSpeechToText(config).eval()
    lang_ids = {c: tokenizer.convert_tokens_to_ids(f"__{c}__") for c in LANGS}
    # built directly: GenerationConfig.from_model_config would mark it so these maps are dropped on reload
    model.generation_config = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_new_tokens=16,
        text_decoder_lang_to_code_id=lang_ids,
        t2u_lang_code_to_id=dict.fromkeys(LANGS, 0),
        vocoder_lang_code_to_id=dict.fromkeys(LANGS, 0),
    )
    model.save_pretrained(folder)
    features = SeamlessM4TFeatureExtractor(feature_size=80, num_mel_bins=80, sampling_rate=SAMPLE_RATE, stride=2)
    SeamlessM4TProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def seamless(tmp_path_factory):
    folder = _tiny_checkpoint(tmp_path_factory.mktemp("seamless-tiny"))
    catalog_spec = get_spec("transformers:seamless-m4t-v2-large")
    spec = dataclasses.replace(catalog_spec, weights=dataclasses.replace(catalog_spec.weights, path=str(folder)))
    engine = build_engine(spec, LoadConfig("cpu", "float32", 2), Resolved(source="path", path=folder))
    engine.load()
    return engine


def _clip(seconds: float = 2.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return from_array(tone.astype(np.float32), SAMPLE_RATE, "tone")


def test_language_maps_survive_reload(seamless):
    generation = seamless.model.generation_config
    assert seamless.model_type == "seamless_m4t_v2"
    assert set(generation.text_decoder_lang_to_code_id) == set(LANGS)
    assert generation.text_decoder_lang_to_code_id["eng"] == seamless.processor.tokenizer.convert_tokens_to_ids(
        "__eng__"
    )


def test_transcribes_to_text_with_english_target(seamless):
    result = seamless.transcribe(_clip(), AsrOptions(beam_size=1, word_timestamps=False))
    assert isinstance(result.text, str)
    assert result.language == "en"
    assert result.inference_s > 0
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 2.0)]


def test_unknown_target_language_is_refused_by_the_model(seamless):
    # 'jpn' is a valid code but not in this checkpoint's language map: only a map that survived the
    # reload makes generate() check it (without one, tgt_lang would be ignored silently)
    with pytest.raises(ValueError, match="jpn"):
        seamless.transcribe(_clip(), AsrOptions(language="ja", beam_size=1))


def test_truncation_flag_follows_the_end_token(seamless):
    generation = seamless.model.generation_config
    eos, vocab = generation.eos_token_id, seamless.model.config.vocab_size
    try:
        generation.suppress_tokens = [eos]  # the end token can never come: the budget runs out
        capped = seamless.transcribe(_clip(), AsrOptions(beam_size=1, max_new_tokens=3))
        generation.suppress_tokens = [t for t in range(vocab) if t != eos]  # only the end token can come
        ended = seamless.transcribe(_clip(), AsrOptions(beam_size=1, max_new_tokens=3))
    finally:
        generation.suppress_tokens = None
    assert capped.flags == ["truncated"]
    assert ended.flags == []
    assert ended.text == ""


def test_long_audio_is_decoded_in_pieces(seamless):
    result = seamless.transcribe(_clip(65.0), AsrOptions(beam_size=1, max_new_tokens=2))
    assert len(result.segments) == 3
    assert result.segments[0].start == 0.0 and result.segments[-1].end == pytest.approx(65.0)
    assert all(s.end - s.start <= 30.0 for s in result.segments)


def test_quiet_split_cuts_at_silence():
    samples = np.ones(40 * SAMPLE_RATE, dtype=np.float32)
    samples[27 * SAMPLE_RATE : 27 * SAMPLE_RATE + SAMPLE_RATE // 10] = 0.0  # 100 ms of silence at 27 s
    (first, second) = quiet_split(samples, 30.0, 5.0)
    assert first[0] == 0 and abs(first[1] - 27.05 * SAMPLE_RATE) < SAMPLE_RATE // 10
    assert second == (first[1], len(samples))
    assert quiet_split(samples[: 10 * SAMPLE_RATE], 30.0, 5.0) == [(0, 10 * SAMPLE_RATE)]


def test_seamless_language_codes():
    assert seamless_language(None) == "eng"
    assert seamless_language("de") == "deu"
    assert seamless_language("zh") == "cmn"
    assert seamless_language("fra") == "fra"
    with pytest.raises(EngineError):
        seamless_language("xx")
