"""whisper.cpp on weights converted from the CTranslate2 pack: the ggml files, tensor by tensor, and real speech.

One conversion per module, into a temporary LAB_CACHE_DIR so nothing depends on ~/.cache.
"""

from __future__ import annotations

import struct
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from lab.catalog import get_spec
from lab.engines import AsrOptions, LoadConfig, build_engine
from lab.weights import convert, ggml, resolve
from tests.test_convert import jfk, lab_cache, wer  # noqa: F401  (module fixtures, shared scoring)

GREEDY = AsrOptions(beam_size=1, word_timestamps=False)


@pytest.fixture(scope="module")
def tiny_source():
    return convert.read_ct2(resolve("faster-whisper:tiny.en").path)


@pytest.fixture(scope="module")
def converted(lab_cache) -> Path:  # noqa: F811
    spec = get_spec("whisper.cpp:tiny.en")
    found = resolve(spec)
    assert found.source == "convert"
    return convert.ensure_converted(spec, found.origin)


# --- the q8_0 block format -----------------------------------------------------------------------


def test_q8_0_round_trip_is_within_half_a_step():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (4, 64)).astype(np.float32)
    x[0, :32] = 0.0  # an all-zero block has scale 0 and must come back as zeros
    raw = ggml.quantize_q8_0(x)
    assert len(raw) == 8 * 34  # 8 blocks: a float16 scale and 32 int8 each
    back = ggml.dequantize_q8_0(raw, x.shape)
    assert np.array_equal(back[0, :32], np.zeros(32, np.float32))
    step = np.abs(x).reshape(-1, 32).max(axis=1) / 127
    assert np.all(np.abs(back - x).reshape(-1, 32).max(axis=1) <= step * 0.51)


def test_q8_0_refuses_rows_that_are_not_whole_blocks():
    with pytest.raises(ggml.GgmlError, match="multiples of 32"):
        ggml.quantize_q8_0(np.zeros((2, 33), np.float32))


def test_a_file_that_is_not_ggml_is_refused(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(struct.pack("<12i", 1, *range(11)))
    with pytest.raises(ggml.GgmlError, match="bad magic"):
        ggml.read_ggml(bad)


# --- the converted files -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("precision", convert.GGML_PRECISIONS)
def test_ggml_file_matches_its_source_tensor_by_tensor(converted, tiny_source, precision):
    model = ggml.read_ggml(convert.ggml_file(converted, precision))
    dims, state = convert.whisper_dims(tiny_source), convert.openai_state_dict(tiny_source)
    assert model.hparams == {k: v for k, v in asdict(dims).items() if k in ggml.HPARAMS}
    assert model.ftype == {"float16": 1, "q8_0": 2007}[precision]
    assert len(model.tensors) == len(state) == 167
    assert convert.ggml_mismatches(model, asdict(dims), state, precision) == []
    # spot checks that do not go through the verifier: the embedding as written, the bank, the vocabulary
    embedding = model.tensors["decoder.token_embedding.weight"]
    if precision == "float16":
        assert np.array_equal(embedding.data, tiny_source.variables["decoder/embeddings/weight"])
    assert model.tensors["encoder.conv1.weight"].ggml_type == ggml.GGML_F16
    assert model.tensors["encoder.positional_embedding"].ggml_type == ggml.GGML_F32
    assert np.array_equal(model.mel_filters, ggml.mel_filters(80))
    assert len(model.vocab) == 50256 and model.vocab[0] == b"!"  # gpt2.tiktoken: English-only


@pytest.mark.slow
def test_verifier_catches_a_changed_tensor(converted, tiny_source):
    model = ggml.read_ggml(convert.ggml_file(converted, "float16"))
    dims, state = convert.whisper_dims(tiny_source), dict(convert.openai_state_dict(tiny_source))
    name = "decoder.blocks.2.mlp.0.weight"
    state[name] = state[name] * 1.01
    problems = convert.ggml_mismatches(model, asdict(dims), state, "float16")
    assert problems == [f"{name}: values differ"]


# --- real speech ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("compute_type", ["float16", "q8_0"])
def test_whisper_cpp_tiny_en_transcribes_jfk(converted, jfk, compute_type):  # noqa: F811
    engine = build_engine(get_spec("whisper.cpp:tiny.en"), LoadConfig("cpu", compute_type, 2))
    engine.load()
    result = engine.transcribe(jfk, GREEDY)
    assert wer("jfk.flac", result.text) <= 0.05, result.text  # the bound test_convert holds the others to
    assert result.language == "en" and result.segments
    assert engine.describe()["weights_precision"] == compute_type


@pytest.mark.slow
def test_whisper_cpp_base_detects_english_and_transcribes_jfk(jfk):  # noqa: F811
    engine = build_engine(get_spec("whisper.cpp:base"), LoadConfig("cpu", "q8_0", 2))
    engine.load()
    result = engine.transcribe(jfk, GREEDY)  # multilingual: no language given, whisper.cpp detects it
    assert result.language == "en"
    assert wer("jfk.flac", result.text) <= 0.05, result.text
    vocab = ggml.read_ggml(engine.model_file).vocab
    assert len(vocab) == 50257  # multilingual.tiktoken
