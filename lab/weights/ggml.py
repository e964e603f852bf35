"""whisper.cpp's legacy ggml model file: write one from openai-whisper tensors, and read one back.

Layout (little-endian int32 unless said): magic "ggml"; hyper-parameters (n_vocab, n_audio_ctx,
n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer,
n_mels, ftype); the mel filter bank (n_mels, n_fft, then float32 values); the byte-level vocabulary
(count, then length + bytes per token, in rank order); then each tensor: n_dims, name length,
tensor type, the dims innermost first, the name, the raw data.

whisper.cpp decides each tensor's type from the file's ftype, so the writer follows the same rule:
1-d tensors, conv biases and positional embeddings stay float32; 3-d conv weights are float16
unless the whole file is float32; every other 2-d weight takes the file's type (f16 or q8_0).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = 0x67676D6C  # "ggml"
# ggml tensor types (ggml.h) and whole-file types (ggml_ftype)
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
FTYPE = {"float32": 0, "float16": 1, "q8_0": 7}
# whisper.cpp's quantizer stores ftype + GGML_QNT_VERSION * 1000 for quantized files
QNT_VERSION_FACTOR, QNT_VERSION = 1000, 2
Q8_BLOCK = 32
HPARAMS = ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
           "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels")
ALWAYS_F32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
              "decoder.positional_embedding"}


class GgmlError(ValueError):
    """Not a whisper.cpp ggml file, or one this reader does not understand."""


@dataclass(frozen=True)
class GgmlTensor:
    name: str
    ggml_type: int
    shape: tuple[int, ...]  # numpy order (outermost first)
    data: np.ndarray  # float32/float16 as stored; q8_0 dequantized to float32


@dataclass(frozen=True)
class GgmlModel:
    hparams: dict[str, int]
    ftype: int
    mel_filters: np.ndarray
    vocab: list[bytes]
    tensors: dict[str, GgmlTensor]


def whisper_assets() -> Path:
    """openai-whisper's asset folder: mel_filters.npz and the tiktoken vocabularies."""
    import whisper

    return Path(whisper.__file__).parent / "assets"


def mel_filters(n_mels: int) -> np.ndarray:
    with np.load(whisper_assets() / "mel_filters.npz") as f:
        return f[f"mel_{n_mels}"].astype(np.float32)


def vocabulary(multilingual: bool) -> list[bytes]:
    """The byte-level BPE tokens in rank order; whisper.cpp adds the special tokens itself."""
    path = whisper_assets() / ("multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    pairs = (line.split() for line in path.read_bytes().splitlines() if line)
    return [base64.b64decode(token) for token, _ in sorted(pairs, key=lambda p: int(p[1]))]


def tensor_type(name: str, ndim: int, precision: str) -> int:
    """The type whisper.cpp expects for `name` in a file of `precision` (see the module docstring)."""
    if precision == "float32" or ndim < 2 or name in ALWAYS_F32:
        return GGML_F32
    if ndim == 3 or precision == "float16":
        return GGML_F16
    return GGML_Q8_0


def write_ggml(path: Path, hparams: Mapping[str, int], state: Mapping[str, np.ndarray], precision: str,
               multilingual: bool) -> None:
    """Write `state` (openai-whisper names → arrays) as a whisper.cpp model of `precision`."""
    if precision not in FTYPE:
        raise GgmlError(f"unknown ggml precision '{precision}'; choose one of {', '.join(FTYPE)}")
    ftype = FTYPE[precision]
    if ftype >= 2:
        ftype += QNT_VERSION * QNT_VERSION_FACTOR
    filters = mel_filters(hparams["n_mels"])
    with path.open("wb") as f:
        f.write(struct.pack("<12i", MAGIC, *(hparams[k] for k in HPARAMS), ftype))
        f.write(struct.pack("<2i", *filters.shape))
        f.write(filters.astype("<f4").tobytes())
        tokens = vocabulary(multilingual)
        f.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            f.write(struct.pack("<i", len(token)) + token)
        for name, array in state.items():
            _write_tensor(f, name, np.asarray(array), precision)


def _write_tensor(f: BinaryIO, name: str, array: np.ndarray, precision: str) -> None:
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        array = array.reshape(-1, 1)  # whisper.cpp adds them to [n_ctx, n_state] as [1, n_state]
    kind = tensor_type(name, array.ndim, precision)
    encoded = name.encode()
    f.write(struct.pack(f"<3i{array.ndim}i", array.ndim, len(encoded), kind, *reversed(array.shape)))
    f.write(encoded)
    if kind == GGML_Q8_0:
        f.write(quantize_q8_0(array))
    else:
        f.write(np.ascontiguousarray(array, "<f4" if kind == GGML_F32 else "<f2").tobytes())


# q8_0: blocks of 32 values along a row, each a float16 scale d = max|x| / 127 and 32 int8 round(x / d)
Q8_DTYPE = np.dtype([("d", "<f2"), ("qs", "i1", Q8_BLOCK)])


def quantize_q8_0(array: np.ndarray) -> bytes:
    if array.shape[-1] % Q8_BLOCK:
        raise GgmlError(f"q8_0 needs rows in multiples of {Q8_BLOCK}, not {array.shape[-1]}")
    blocks = np.asarray(array, np.float32).reshape(-1, Q8_BLOCK)
    scale = np.abs(blocks).max(axis=1) / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    out = np.empty(len(blocks), Q8_DTYPE)
    out["d"] = scale.astype(np.float16)
    # ggml rounds half away from zero (roundf); numpy's rint rounds half to even
    scaled = blocks * inverse[:, None]
    out["qs"] = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8)
    return out.tobytes()


def dequantize_q8_0(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    blocks = np.frombuffer(raw, Q8_DTYPE)
    return (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(shape)


def read_ggml(path: Path) -> GgmlModel:
    """Parse a whisper.cpp ggml file completely (for verification and tests)."""
    data = Path(path).read_bytes()
    reader = _Cursor(data)
    magic, *values = reader.ints(12)
    if magic != MAGIC:
        raise GgmlError(f"{path}: not a ggml file (bad magic {magic:#x})")
    hparams, ftype = dict(zip(HPARAMS, values[:-1], strict=True)), values[-1]
    n_mels, n_fft = reader.ints(2)
    filters = np.frombuffer(reader.take(4 * n_mels * n_fft), "<f4").reshape(n_mels, n_fft)
    vocab = [reader.take(reader.ints(1)[0]) for _ in range(reader.ints(1)[0])]
    tensors = {t.name: t for t in _tensors(reader)}
    return GgmlModel(hparams, ftype, filters, vocab, tensors)


def _tensors(reader: _Cursor) -> Iterator[GgmlTensor]:
    while not reader.done:
        ndim, length, kind = reader.ints(3)
        shape = tuple(reversed(reader.ints(ndim)))
        name = reader.take(length).decode()
        count = int(np.prod(shape))
        if kind == GGML_Q8_0:
            values = dequantize_q8_0(reader.take(count // Q8_BLOCK * Q8_DTYPE.itemsize), shape)
        elif kind in (GGML_F32, GGML_F16):
            dtype = np.dtype("<f4" if kind == GGML_F32 else "<f2")
            values = np.frombuffer(reader.take(count * dtype.itemsize), dtype).reshape(shape)
        else:
            raise GgmlError(f"tensor {name}: ggml type {kind} is not read here")
        yield GgmlTensor(name, kind, shape, values)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise GgmlError("ggml file ends early (truncated?)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def ints(self, n: int) -> list[int]:
        return list(struct.unpack(f"<{n}i", self.take(4 * n)))
