"""Convert faster-whisper (CTranslate2) Whisper weights into openai-whisper, transformers and whisper.cpp models.

The offline packs only ship CTranslate2 `model.bin` files, so the PyTorch runtimes get their weights
by conversion: `model.bin` is parsed here with numpy (no ctranslate2 needed), the fused attention
projections are split back apart, and the result is written as

- openai-whisper: `model.pt` holding `dims` + `model_state_dict`, which `whisper.load_model` reads;
- transformers: a Whisper directory (safetensors, config, generation config, processor files);
- whisper.cpp: ggml files built from the same openai-whisper state dict, one per precision
  (float16, q8_0; see `lab.weights.ggml`).

A conversion lands in `cache_dir()/converted/<runtime>/<name>`: written to a temporary sibling,
verified by loading it back, then renamed into place, so a reader never sees half a checkpoint and
two racing processes both end with the same complete directory.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import mmap
import os
import re
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lab.errors import EngineError
from lab.weights import ggml
from lab.weights.paths import cache_dir

if TYPE_CHECKING:
    import torch

    from lab.catalog import ModelSpec

# bump when the written layout changes: older conversions are then redone
FORMAT = 1
MANIFEST = "conversion.json"
OPENAI_CHECKPOINT = "model.pt"
CT2_BINARY_VERSION = 6
# whisper.cpp files written per conversion: its usual precision and 8-bit blocks. No float32 file: the
# PyPI build aborts on one at inference (an im2col assert wants float16 conv weights)
GGML_PRECISIONS = ("float16", "q8_0")
# CTranslate2's DataType enum order (include/ctranslate2/types.h)
CT2_DTYPES: dict[int, str] = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}


class ConversionError(EngineError):
    """The source weights cannot be converted, or the converted checkpoint did not load back."""


# --- reading CTranslate2 -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ct2Model:
    """A CTranslate2 model directory: its variables (aliases resolved), config.json and tokenizer.json."""

    folder: Path
    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    config: dict
    tokenizer: dict

    def scalar(self, name: str) -> int:
        return int(self.variables[name].reshape(()))

    def tensor(self, name: str) -> np.ndarray:
        """A float weight; int8/int16-quantized ones come back dequantized to float32."""
        value = self.variables[name]
        scale = self.variables.get(f"{name}_scale")
        if value.dtype.kind == "i" and scale is not None:
            # CTranslate2 stores round(w * scale) with one scale per output row
            rows = scale.astype(np.float32).reshape(-1, *([1] * (value.ndim - 1)))
            return value.astype(np.float32) / rows
        return value

    def layers(self, stack: str) -> int:
        pattern = re.compile(rf"^{stack}/layer_(\d+)/")
        return 1 + max(int(m.group(1)) for name in self.variables if (m := pattern.match(name)))


def read_ct2(source: Path) -> Ct2Model:
    """Parse `model.bin` (binary format 6) plus config.json / tokenizer.json from a CTranslate2 dir."""
    folder = source if source.is_dir() else source.parent
    with (folder / "model.bin").open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        spec, revision, variables = _parse_model_bin(buf)
    config = _read_json(folder / "config.json")
    tokenizer = _read_json(folder / "tokenizer.json")
    return Ct2Model(folder, spec, revision, variables, config, tokenizer)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _parse_model_bin(buf: mmap.mmap) -> tuple[str, int, dict[str, np.ndarray]]:
    reader = _Reader(buf)
    version = reader.unpack("<I")
    if version != CT2_BINARY_VERSION:
        raise ConversionError(f"model.bin: binary format {version} is not supported (only {CT2_BINARY_VERSION}).")
    spec, revision = reader.string(), reader.unpack("<I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("<I")):
        name = reader.string()
        shape = [reader.unpack("<I") for _ in range(reader.unpack("<B"))]
        dtype = CT2_DTYPES[reader.unpack("<B")]
        raw = reader.take(reader.unpack("<I"))
        variables[name] = _decode_array(raw, dtype, shape)
    for _ in range(reader.unpack("<I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return spec, revision, variables


class _Reader:
    """Sequential little-endian reads over the mapped file."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def take(self, n: int) -> bytes:
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data

    def string(self) -> str:
        return self.take(self.unpack("<H")).rstrip(b"\0").decode()


def _decode_array(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    if dtype == "bfloat16":  # numpy has no bfloat16: widen to float32 (exact)
        return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return np.frombuffer(raw, np.dtype(dtype).newbyteorder("<")).reshape(shape)


# --- Whisper layout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhisperDims:
    """Same fields as `whisper.model.ModelDimensions`."""

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int

    @property
    def multilingual(self) -> bool:
        return self.n_vocab >= 51865  # openai-whisper's own rule


def whisper_dims(m: Ct2Model) -> WhisperDims:
    if m.spec != "WhisperSpec":
        raise ConversionError(f"model.bin holds a {m.spec}, not a Whisper model.")
    audio_pos = m.variables["encoder/position_encodings/encodings"]
    text_pos = m.variables["decoder/position_encodings/encodings"]
    return WhisperDims(
        n_mels=m.variables["encoder/conv1/weight"].shape[1],
        n_audio_ctx=audio_pos.shape[0],
        n_audio_state=audio_pos.shape[1],
        n_audio_head=m.scalar("encoder/num_heads"),
        n_audio_layer=m.layers("encoder"),
        n_vocab=m.variables["decoder/embeddings/weight"].shape[0],
        n_text_ctx=text_pos.shape[0],
        n_text_state=text_pos.shape[1],
        n_text_head=m.scalar("decoder/num_heads"),
        n_text_layer=m.layers("decoder"),
    )


def openai_state_dict(m: Ct2Model) -> dict[str, np.ndarray]:
    """openai-whisper parameter names → arrays (source dtype; float32 where dequantized)."""
    out = {
        "encoder.conv1.weight": m.tensor("encoder/conv1/weight"),
        "encoder.conv1.bias": m.tensor("encoder/conv1/bias"),
        "encoder.conv2.weight": m.tensor("encoder/conv2/weight"),
        "encoder.conv2.bias": m.tensor("encoder/conv2/bias"),
        "encoder.positional_embedding": m.tensor("encoder/position_encodings/encodings"),
        "decoder.token_embedding.weight": m.tensor("decoder/embeddings/weight"),
        "decoder.positional_embedding": m.tensor("decoder/position_encodings/encodings"),
    }
    out |= _layer_norm(m, "encoder/layer_norm", "encoder.ln_post")
    out |= _layer_norm(m, "decoder/layer_norm", "decoder.ln")
    for i in range(m.layers("encoder")):
        out |= _block(m, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    for i in range(m.layers("decoder")):
        out |= _block(m, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    return out


def _block(m: Ct2Model, src: str, dst: str, cross: bool) -> dict[str, np.ndarray]:
    # self-attention: q/k/v fused in linear_0 ([3d, d]); Whisper's key has no bias (stored as zeros)
    q, k, v = np.split(m.tensor(f"{src}/self_attention/linear_0/weight"), 3)
    qb, _, vb = np.split(m.tensor(f"{src}/self_attention/linear_0/bias"), 3)
    out = _attention(f"{dst}.attn", q, qb, k, v, vb)
    out |= _linear(m, f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    out |= _layer_norm(m, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    if cross:
        # cross-attention: linear_0 = query, linear_1 = fused key/value ([2d, d]), linear_2 = output
        k, v = np.split(m.tensor(f"{src}/attention/linear_1/weight"), 2)
        _, vb = np.split(m.tensor(f"{src}/attention/linear_1/bias"), 2)
        q, qb = m.tensor(f"{src}/attention/linear_0/weight"), m.tensor(f"{src}/attention/linear_0/bias")
        out |= _attention(f"{dst}.cross_attn", q, qb, k, v, vb)
        out |= _linear(m, f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
        out |= _layer_norm(m, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
    out |= _linear(m, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    out |= _linear(m, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
    out |= _layer_norm(m, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    return out


def _attention(dst: str, q, qb, k, v, vb) -> dict[str, np.ndarray]:
    return {
        f"{dst}.query.weight": q,
        f"{dst}.query.bias": qb,
        f"{dst}.key.weight": k,
        f"{dst}.value.weight": v,
        f"{dst}.value.bias": vb,
    }


def _linear(m: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": m.tensor(f"{src}/weight"), f"{dst}.bias": m.tensor(f"{src}/bias")}


def _layer_norm(m: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": m.tensor(f"{src}/gamma"), f"{dst}.bias": m.tensor(f"{src}/beta")}


# openai-whisper name → transformers name, applied in order (as in transformers' own converter)
HF_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^encoder\.positional_embedding$", "encoder.embed_positions.weight"),
    (r"^decoder\.positional_embedding$", "decoder.embed_positions.weight"),
    (r"^decoder\.token_embedding\.", "decoder.embed_tokens."),
    (r"^encoder\.ln_post\.", "encoder.layer_norm."),
    (r"^decoder\.ln\.", "decoder.layer_norm."),
    (r"\.blocks\.", ".layers."),
    (r"\.cross_attn_ln\.", ".encoder_attn_layer_norm."),
    (r"\.cross_attn\.", ".encoder_attn."),
    (r"\.attn_ln\.", ".self_attn_layer_norm."),
    (r"\.attn\.", ".self_attn."),
    (r"\.query\.", ".q_proj."),
    (r"\.key\.", ".k_proj."),
    (r"\.value\.", ".v_proj."),
    (r"\.out\.", ".out_proj."),
    (r"\.mlp_ln\.", ".final_layer_norm."),
    (r"\.mlp\.0\.", ".fc1."),
    (r"\.mlp\.2\.", ".fc2."),
)


def hf_name(openai_name: str) -> str:
    for pattern, repl in HF_RENAMES:
        openai_name = re.sub(pattern, repl, openai_name)
    return f"model.{openai_name}"


@dataclass(frozen=True)
class SpecialTokens:
    """Whisper's control tokens, looked up by text in the pack's tokenizer.json."""

    eot: int
    sot: int
    translate: int
    transcribe: int
    prev: int
    no_timestamps: int
    languages: dict[str, int]  # "<|en|>" → id

    @property
    def timestamp_begin(self) -> int:
        return self.no_timestamps + 1


def special_tokens(m: Ct2Model) -> SpecialTokens:
    ids = {t["content"]: t["id"] for t in m.tokenizer.get("added_tokens", [])}
    if "<|notimestamps|>" not in ids:
        raise ConversionError("the pack's tokenizer.json lacks Whisper's special tokens.")
    by_id = {v: k for k, v in ids.items()}
    # config.json's lang_ids are authoritative; an English-only pack lists the multilingual ones
    lang_ids = m.config.get("lang_ids") or range(ids["<|startoftranscript|>"] + 1, ids["<|translate|>"])
    return SpecialTokens(
        eot=ids["<|endoftext|>"],
        sot=ids["<|startoftranscript|>"],
        translate=ids["<|translate|>"],
        transcribe=ids["<|transcribe|>"],
        prev=ids["<|startofprev|>"],
        no_timestamps=ids["<|notimestamps|>"],
        languages={by_id[i]: i for i in lang_ids if i in by_id},
    )


# --- writers -------------------------------------------------------------------------------------


def write_openai(m: Ct2Model, out: Path) -> None:
    import torch

    dims = whisper_dims(m)
    state = {name: _torch(a) for name, a in openai_state_dict(m).items()}
    torch.save({"dims": asdict(dims), "model_state_dict": state}, out / OPENAI_CHECKPOINT)


def write_transformers(m: Ct2Model, out: Path) -> None:
    from safetensors.torch import save_file

    dims, tokens = whisper_dims(m), special_tokens(m)
    state = {hf_name(name): _torch(a) for name, a in openai_state_dict(m).items()}
    # proj_out is tied to embed_tokens (tie_word_embeddings), so it is not stored
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    _hf_config(m, dims, tokens).save_pretrained(out)
    _hf_generation_config(m, dims, tokens).save_pretrained(out)
    _hf_processor(m, dims, tokens).save_pretrained(out)


def _torch(a: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a).copy())


def _hf_config(m: Ct2Model, dims: WhisperDims, tokens: SpecialTokens):
    from transformers import WhisperConfig

    return WhisperConfig(
        vocab_size=dims.n_vocab,
        num_mel_bins=dims.n_mels,
        encoder_layers=dims.n_audio_layer,
        encoder_attention_heads=dims.n_audio_head,
        decoder_layers=dims.n_text_layer,
        decoder_attention_heads=dims.n_text_head,
        encoder_ffn_dim=m.variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=m.variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        d_model=dims.n_audio_state,
        max_source_positions=dims.n_audio_ctx,
        max_target_positions=dims.n_text_ctx,
        pad_token_id=tokens.eot,
        bos_token_id=tokens.eot,
        eos_token_id=tokens.eot,
        decoder_start_token_id=tokens.sot,
        begin_suppress_tokens=m.config.get("suppress_ids_begin", [220, tokens.eot]),
        dtype=_stored_dtype(m),
        architectures=["WhisperForConditionalGeneration"],
    )


def _stored_dtype(m: Ct2Model) -> str:
    return "float16" if m.variables["decoder/embeddings/weight"].dtype == np.float16 else "float32"


def _hf_generation_config(m: Ct2Model, dims: WhisperDims, tokens: SpecialTokens):
    from transformers import GenerationConfig

    values = {
        "decoder_start_token_id": tokens.sot,
        "bos_token_id": tokens.eot,
        "eos_token_id": tokens.eot,
        "pad_token_id": tokens.eot,
        "max_length": dims.n_text_ctx,
        "suppress_tokens": m.config.get("suppress_ids", []),
        "begin_suppress_tokens": m.config.get("suppress_ids_begin", [220, tokens.eot]),
        "alignment_heads": m.config.get("alignment_heads") or _default_alignment_heads(dims),
        "no_timestamps_token_id": tokens.no_timestamps,
        "prev_sot_token_id": tokens.prev,
        "max_initial_timestamp_index": 50,
        "return_timestamps": False,
        "is_multilingual": dims.multilingual,
    }
    if dims.multilingual:  # WhisperForConditionalGeneration refuses language/task for English-only models
        values["lang_to_id"] = tokens.languages
        values["task_to_id"] = {"transcribe": tokens.transcribe, "translate": tokens.translate}
    # built directly (not from_model_config) so the Whisper-only keys are kept when saved
    return GenerationConfig(**values)


def _default_alignment_heads(dims: WhisperDims) -> list[list[int]]:
    # openai-whisper's default when none are known: every head of the second half of the decoder
    return [[i, h] for i in range(dims.n_text_layer // 2, dims.n_text_layer) for h in range(dims.n_text_head)]


def _hf_processor(m: Ct2Model, dims: WhisperDims, tokens: SpecialTokens):
    from transformers import AddedToken, WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    specials = [t["content"] for t in m.tokenizer["added_tokens"] if t["special"]]
    # listing the control tokens as special keeps decode() from printing them, and makes the
    # tokenizer's timestamp_begin (last special id + 1) right
    tokenizer = WhisperTokenizer(tokenizer_file=str(m.folder / "tokenizer.json"), extra_special_tokens=specials)
    # the pack's tokenizer stops at <|notimestamps|>; the model's vocabulary goes on with timestamps
    count = dims.n_vocab - tokens.timestamp_begin
    tokenizer.add_tokens([AddedToken(f"<|{i * 0.02:.2f}|>", normalized=False) for i in range(count)])
    # the encoder's positions are mel frames (100 a second) halved by the strided conv: 1500 → 30 s
    features = WhisperFeatureExtractor(feature_size=dims.n_mels, chunk_length=dims.n_audio_ctx * 2 // 100)
    return WhisperProcessor(feature_extractor=features, tokenizer=tokenizer)


def alignment_heads_dump(heads: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """openai-whisper's `set_alignment_heads` format: base85(gzip(bool[n_layer, n_head]))."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def openai_alignment_heads(checkpoint: Path) -> bytes | None:
    """Alignment heads recorded beside a converted `model.pt` (official checkpoints carry none)."""
    manifest = _read_json(checkpoint.parent / MANIFEST)
    heads, dims = manifest.get("alignment_heads"), manifest.get("dims")
    if not heads or not dims:
        return None
    return alignment_heads_dump(heads, dims["n_text_layer"], dims["n_text_head"])


# --- verification --------------------------------------------------------------------------------


# a fused weight whose query part is compared after loading: a wrong split or name shows here
PROBE = "decoder/layer_0/self_attention/linear_0/weight"


def verify_openai(m: Ct2Model, out: Path) -> None:
    """Load the checkpoint the way whisper.load_model does, strictly, and compare a tensor."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    checkpoint = torch.load(out / OPENAI_CHECKPOINT, map_location="cpu", weights_only=True)
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])  # strict: every name must match
    _same_query(model.decoder.blocks[0].attn.query.weight, m.tensor(PROBE))


def verify_transformers(m: Ct2Model, out: Path) -> None:
    """Load model, generation config and processor back; no weight may be missing or unexpected."""
    import torch
    from transformers import GenerationConfig, WhisperForConditionalGeneration, WhisperProcessor

    model, info = WhisperForConditionalGeneration.from_pretrained(out, dtype=torch.float32, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}  # missing/unexpected/mismatched keys, error messages
    if problems:
        raise ConversionError(f"converted transformers checkpoint does not load cleanly: {problems}")
    _same_query(model.model.decoder.layers[0].self_attn.q_proj.weight, m.tensor(PROBE))
    if model.proj_out.weight.data_ptr() != model.model.decoder.embed_tokens.weight.data_ptr():
        raise ConversionError("converted transformers checkpoint: proj_out is not tied to embed_tokens")
    tokens = special_tokens(m)
    generation = GenerationConfig.from_pretrained(out)
    if getattr(generation, "no_timestamps_token_id", None) != tokens.no_timestamps:
        raise ConversionError("converted transformers checkpoint: generation config lost its Whisper keys")
    processor = WhisperProcessor.from_pretrained(out)
    if len(processor.tokenizer) != model.config.vocab_size:
        raise ConversionError(f"tokenizer has {len(processor.tokenizer)} tokens, model {model.config.vocab_size}")


def _same_query(tensor: torch.Tensor, fused_qkv: np.ndarray) -> None:
    """The query rows of a fused [3d, d] projection must come back bit for bit."""
    query = fused_qkv[: fused_qkv.shape[1]].astype(np.float32)
    if not np.array_equal(tensor.detach().float().numpy(), query):
        raise ConversionError("converted checkpoint: a weight did not round-trip")


def ggml_file(folder: Path, precision: str) -> Path:
    """The whisper.cpp model file of `precision` inside a converted folder."""
    return folder / f"ggml-model-{precision}.bin"


def write_ggml(m: Ct2Model, out: Path) -> None:
    dims = whisper_dims(m)
    state = openai_state_dict(m)
    for precision in GGML_PRECISIONS:
        ggml.write_ggml(ggml_file(out, precision), asdict(dims), state, precision, dims.multilingual)


def verify_ggml(m: Ct2Model, out: Path) -> None:
    """Read each file back and compare every tensor with the openai-whisper state dict it came from."""
    dims, state = whisper_dims(m), openai_state_dict(m)
    for precision in GGML_PRECISIONS:
        problems = ggml_mismatches(ggml.read_ggml(ggml_file(out, precision)), asdict(dims), state, precision)
        if problems:
            raise ConversionError(f"whisper.cpp {precision} file does not match its source: {problems[0]}")


def ggml_mismatches(model: ggml.GgmlModel, hparams: dict[str, int], state: dict[str, np.ndarray],
                    precision: str) -> list[str]:
    """Every way `model` differs from its source: hyper-parameters, names, types, shapes, values."""
    problems = [f"{k}={model.hparams.get(k)}, expected {v}" for k, v in hparams.items() if model.hparams.get(k) != v]
    if set(model.tensors) != set(state):
        problems.append(f"tensor names differ: {sorted(set(model.tensors) ^ set(state))[:5]}")
    for name, source in state.items():
        t = model.tensors.get(name)
        if t is not None and (problem := _tensor_mismatch(t, np.asarray(source), precision)):
            problems.append(f"{name}: {problem}")
    return problems


def _tensor_mismatch(t: ggml.GgmlTensor, source: np.ndarray, precision: str) -> str | None:
    expected = source.reshape(-1, 1) if t.name.endswith("conv1.bias") or t.name.endswith("conv2.bias") else source
    if t.shape != expected.shape:
        return f"shape {t.shape}, expected {expected.shape}"
    if t.ggml_type != ggml.tensor_type(t.name, expected.ndim, precision):
        return f"ggml type {t.ggml_type}"
    if t.ggml_type == ggml.GGML_Q8_0:
        # within half a step, plus 127 times the float16 rounding of the step (coarse for subnormal steps)
        step = np.abs(expected.astype(np.float32)).reshape(-1, ggml.Q8_BLOCK).max(axis=1) / 127.0
        rounding = np.abs(step.astype(np.float16).astype(np.float32) - step)
        error = np.abs(t.data - expected.astype(np.float32)).reshape(-1, ggml.Q8_BLOCK).max(axis=1)
        within = np.all(error <= (step * 0.5 + rounding * 127) * 1.001 + 1e-9)
        return None if within else "q8_0 values off by more than half a step"
    exact = expected.astype(t.data.dtype)
    return None if np.array_equal(t.data, exact) else "values differ"


@dataclass(frozen=True)
class Converter:
    write: Callable[[Ct2Model, Path], None]
    verify: Callable[[Ct2Model, Path], None]


CONVERTERS: dict[str, Converter] = {
    "openai-whisper": Converter(write_openai, verify_openai),
    "transformers": Converter(write_transformers, verify_transformers),
    "whisper.cpp": Converter(write_ggml, verify_ggml),
}


# --- public API ----------------------------------------------------------------------------------


def target_path(spec: ModelSpec) -> Path:
    """Where `spec`'s converted weights live (or will); cheap, converts nothing. One place per model:
    a different source is noticed by its fingerprint in the manifest, and the conversion redone."""
    return cache_dir() / "converted" / spec.runtime / spec.name


def ensure_converted(spec: ModelSpec, source_path: Path, progress: Callable[[str], None] | None = None) -> Path:
    """Convert `source_path` (a CTranslate2 dir or its model.bin) for `spec` once; reuse it afterwards.
    `progress` hears "converting weights…" only when a conversion runs."""
    if spec.runtime not in CONVERTERS:
        raise ConversionError(f"{spec.id}: no converter into the {spec.runtime} runtime.")
    source_path = Path(source_path).resolve()
    target = target_path(spec)
    stamp = _fingerprint(source_path)
    if _is_current(target, stamp):
        return target
    if progress is not None:
        progress("converting weights…")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.tmp", dir=target.parent))
    try:
        _convert_into(spec, source_path, tmp, stamp)
        _publish(tmp, target, stamp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_into(spec: ModelSpec, source: Path, out: Path, stamp: str) -> None:
    started = time.perf_counter()
    model = read_ct2(source)
    converter = CONVERTERS[spec.runtime]
    converter.write(model, out)
    converter.verify(model, out)
    dims = whisper_dims(model)
    manifest = {
        "format": FORMAT,
        "model": spec.id,
        "source": str(source),
        "source_fingerprint": stamp,
        "dims": asdict(dims),
        "alignment_heads": model.config.get("alignment_heads") or _default_alignment_heads(dims),
        "seconds": round(time.perf_counter() - started, 2),
    }
    # written last: a directory with a manifest is a complete, verified conversion
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    out.chmod(0o755)  # mkdtemp made it private; the cache is readable like any other


def _publish(tmp: Path, target: Path, stamp: str) -> None:
    """Move the finished conversion into place; if another process got there first, keep theirs."""
    for _ in range(3):
        try:
            os.rename(tmp, target)  # atomic; fails if target exists and is not empty
            return
        except OSError:
            if _is_current(target, stamp):
                return
            # a stale or broken conversion: move it aside, then retry the rename
            stale = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex[:8]}")
            try:
                os.rename(target, stale)
            except FileNotFoundError:
                continue
            shutil.rmtree(stale, ignore_errors=True)
    raise ConversionError(f"could not move the conversion into {target}")


def _is_current(target: Path, stamp: str) -> bool:
    manifest = _read_json(target / MANIFEST) if target.is_dir() else {}
    return manifest.get("format") == FORMAT and manifest.get("source_fingerprint") == stamp


def _fingerprint(source: Path) -> str:
    """Identifies the source weights cheaply: size plus a hash of the first and last MiB."""
    model_bin = source / "model.bin" if source.is_dir() else source
    size = model_bin.stat().st_size
    digest = hashlib.sha256()
    with model_bin.open("rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read())
    return f"{size}-{digest.hexdigest()[:16]}"
