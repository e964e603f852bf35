"""CTranslate2 → openai-whisper / transformers conversion, checked on the real offline packs.

One conversion per model per module (the machine is slow), into a temporary LAB_CACHE_DIR so
nothing depends on ~/.cache. Accuracy is checked on real speech, and weights tensor by tensor.
"""

from __future__ import annotations

import csv
import json
import os
import struct
import threading
from pathlib import Path

import jiwer
import numpy as np
import pytest
import torch
from whisper.normalizers import EnglishTextNormalizer

from lab.audio import load_audio
from lab.catalog import get_spec
from lab.engines import AsrOptions, LoadConfig, build_engine
from lab.settings import reload_settings
from lab.weights import convert, resolve

ROOT = Path(__file__).resolve().parents[1]
AUDIO = Path(os.environ.get("LAB_SHARED_AUDIO", ROOT.parent / "shared" / "audio"))
CPU = LoadConfig("cpu", "float32", 2)
GREEDY = AsrOptions(beam_size=1, word_timestamps=False)
normalize = EnglishTextNormalizer()


def reference(name: str) -> str:
    with (AUDIO / "manifest.csv").open() as f:
        return next(row["reference"] for row in csv.DictReader(f) if row["file"] == name)


def wer(name: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference(name)), normalize(hypothesis))


@pytest.fixture(scope="module", autouse=True)
def lab_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("lab-cache")
        mp.setenv("LAB_CACHE_DIR", str(cache))
        reload_settings()
        yield cache
    reload_settings()  # the next module must not keep this module's cache directory


@pytest.fixture(scope="module")
def jfk():
    return load_audio(AUDIO / "jfk.flac")


@pytest.fixture(scope="module")
def tiny_pack() -> Path:
    return resolve("faster-whisper:tiny.en").path


def _engine(model_id: str):
    engine = build_engine(get_spec(model_id), CPU)
    assert engine.weights.source == "convert"
    engine.load()
    return engine


@pytest.fixture(scope="module")
def openai_tiny(lab_cache):
    return _engine("openai-whisper:tiny.en")


@pytest.fixture(scope="module")
def hf_tiny(lab_cache):
    return _engine("transformers:whisper-tiny.en")


# --- reading the CTranslate2 pack ----------------------------------------------------------------


def test_reads_the_tiny_en_pack(tiny_pack):
    model = convert.read_ct2(tiny_pack)
    assert (model.spec, model.revision) == ("WhisperSpec", 3)
    # 148 stored variables plus the output projection, an alias of the embeddings
    assert len(model.variables) == 149
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    assert model.variables["decoder/embeddings/weight"].dtype == np.float16
    assert convert.whisper_dims(model) == convert.WhisperDims(80, 1500, 384, 6, 4, 51864, 448, 384, 6, 4)
    assert not convert.whisper_dims(model).multilingual


def test_unsupported_binary_version_is_refused(tmp_path):
    name = b"WhisperSpec\0"
    (tmp_path / "model.bin").write_bytes(struct.pack("<IH", 5, len(name)) + name)
    with pytest.raises(convert.ConversionError, match="binary format 5"):
        convert.read_ct2(tmp_path)


def test_target_path_is_cheap_and_deterministic(lab_cache):
    spec = get_spec("openai-whisper:base")
    target = convert.target_path(spec)
    assert target == lab_cache / "converted" / "openai-whisper" / "base"
    assert not target.exists()


# --- weights, tensor by tensor -------------------------------------------------------------------


def test_openai_checkpoint_holds_the_source_tensors(openai_tiny, tiny_pack):
    source = convert.read_ct2(tiny_pack).variables
    state = torch.load(openai_tiny.weights.path / "model.pt", weights_only=True)["model_state_dict"]
    t = {k: v.numpy() for k, v in state.items()}
    for stack in ("encoder", "decoder"):
        for i in range(4):
            src, dst = f"{stack}/layer_{i}", f"{stack}.blocks.{i}"
            q, k, v = (t[f"{dst}.attn.{x}.weight"] for x in ("query", "key", "value"))
            np.testing.assert_array_equal(np.concatenate([q, k, v]), source[f"{src}/self_attention/linear_0/weight"])
            # the source's fused bias must hold zeros for the key: Whisper's key has no bias
            qb, vb = t[f"{dst}.attn.query.bias"], t[f"{dst}.attn.value.bias"]
            bias = np.concatenate([qb, np.zeros_like(qb), vb])
            np.testing.assert_array_equal(bias, source[f"{src}/self_attention/linear_0/bias"])
            np.testing.assert_array_equal(t[f"{dst}.attn.out.weight"], source[f"{src}/self_attention/linear_1/weight"])
            np.testing.assert_array_equal(t[f"{dst}.mlp.2.weight"], source[f"{src}/ffn/linear_1/weight"])
    for i in range(4):
        src, dst = f"decoder/layer_{i}/attention", f"decoder.blocks.{i}.cross_attn"
        np.testing.assert_array_equal(t[f"{dst}.query.weight"], source[f"{src}/linear_0/weight"])
        kv = np.concatenate([t[f"{dst}.key.weight"], t[f"{dst}.value.weight"]])
        np.testing.assert_array_equal(kv, source[f"{src}/linear_1/weight"])
        np.testing.assert_array_equal(t[f"{dst}.out.bias"], source[f"{src}/linear_2/bias"])
    np.testing.assert_array_equal(t["decoder.token_embedding.weight"], source["decoder/embeddings/weight"])
    np.testing.assert_array_equal(t["decoder.positional_embedding"], source["decoder/position_encodings/encodings"])
    np.testing.assert_array_equal(t["encoder.ln_post.weight"], source["encoder/layer_norm/gamma"])


def test_openai_and_transformers_models_hold_the_same_weights(openai_tiny, hf_tiny):
    reference_state = openai_tiny.model.state_dict()
    hf_state = hf_tiny.model.state_dict()
    for name, tensor in reference_state.items():
        assert torch.equal(hf_state[convert.hf_name(name)], tensor), name
    # the output projection is tied to the token embedding, as in Whisper
    assert torch.equal(hf_state["proj_out.weight"], reference_state["decoder.token_embedding.weight"])


def test_pack_settings_are_carried_over(openai_tiny, hf_tiny, tiny_pack):
    pack = json.loads((tiny_pack / "config.json").read_text())
    heads = openai_tiny.model.alignment_heads.to_dense().nonzero().tolist()
    assert heads == pack["alignment_heads"]
    generation = hf_tiny.model.generation_config
    assert generation.alignment_heads == pack["alignment_heads"]
    assert generation.suppress_tokens == pack["suppress_ids"]
    assert generation.begin_suppress_tokens == pack["suppress_ids_begin"]
    assert generation.no_timestamps_token_id == 50362 and generation.is_multilingual is False
    assert len(hf_tiny.processor.tokenizer) == 51864


# --- transcription ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_openai_whisper_transcribes_jfk(openai_tiny, jfk):
    result = openai_tiny.transcribe(jfk, AsrOptions(beam_size=1, word_timestamps=True))
    assert wer("jfk.flac", result.text) <= 0.05, result.text
    assert result.language == "en" and result.inference_s > 0
    starts = [w.start for w in result.words]
    assert len(result.words) >= 20 and starts == sorted(starts) and result.words[-1].end <= 11.1


def test_transformers_transcribes_jfk(hf_tiny, jfk):
    result = hf_tiny.transcribe(jfk, GREEDY)
    assert wer("jfk.flac", result.text) <= 0.05, result.text
    assert result.flags == [] and result.segments and result.segments[-1].end <= 11.1


@pytest.mark.slow
def test_converted_runtimes_match_faster_whisper(openai_tiny, hf_tiny, jfk):
    ct2 = build_engine(get_spec("faster-whisper:tiny.en"), CPU)
    ct2.load()
    expected = normalize(ct2.transcribe(jfk, GREEDY).text)
    assert normalize(openai_tiny.transcribe(jfk, GREEDY).text) == expected
    assert normalize(hf_tiny.transcribe(jfk, GREEDY).text) == expected


@pytest.mark.slow
def test_transformers_long_form(hf_tiny):
    clip = load_audio(AUDIO / "two_cities.wav")
    assert clip.duration_s > 40
    result = hf_tiny.transcribe(clip, GREEDY)
    assert wer("two_cities.wav", result.text) <= 0.15, result.text
    assert result.segments[-1].end > 35


def test_transformers_flags_truncation(hf_tiny, jfk):
    result = hf_tiny.transcribe(jfk, AsrOptions(beam_size=1, max_new_tokens=3))
    assert result.flags == ["truncated"]


@pytest.mark.slow
def test_multilingual_base_transcribes_jfk(jfk):
    engine = _engine("transformers:whisper-base")
    assert engine.model.generation_config.is_multilingual
    assert engine.model.generation_config.lang_to_id["<|de|>"] == 50261
    result = engine.transcribe(jfk, GREEDY)  # no language given: detected from the audio
    assert result.language == "en"
    assert wer("jfk.flac", result.text) <= 0.05, result.text


# --- the conversion cache ----------------------------------------------------------------------


def test_conversion_is_reused(openai_tiny, tiny_pack):
    spec = openai_tiny.spec
    manifest = openai_tiny.weights.path / convert.MANIFEST
    before = manifest.stat().st_mtime_ns
    assert convert.ensure_converted(spec, tiny_pack) == openai_tiny.weights.path
    assert manifest.stat().st_mtime_ns == before
    leftovers = [p.name for p in openai_tiny.weights.path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_racing_conversions_and_stale_ones(tmp_path, monkeypatch, tiny_pack):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    reload_settings()
    spec = get_spec("openai-whisper:tiny.en")
    results, errors = [], []

    def run() -> None:
        try:
            results.append(convert.ensure_converted(spec, tiny_pack))
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    target = results[0]
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny.en"]
    # a conversion from an older converter is redone in place
    manifest = json.loads((target / convert.MANIFEST).read_text())
    (target / convert.MANIFEST).write_text(json.dumps(manifest | {"format": 0}))
    assert convert.ensure_converted(spec, tiny_pack) == target
    assert json.loads((target / convert.MANIFEST).read_text())["format"] == convert.FORMAT
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny.en"]
