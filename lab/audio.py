"""Decode any common audio container into the mono 16 kHz float32 that speech models expect.

PyAV (FFmpeg) does the decoding and resampling, so wav/flac/mp3/ogg/opus/m4a/webm — including
what browsers record — all take the same path. Problems come out as `AudioError` with a message
a user can act on.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import av
import numpy as np

from lab.errors import AudioError
from lab.settings import settings

SAMPLE_RATE = 16_000
MIN_DURATION_S = 0.1
# Peak below this (about -80 dBFS) counts as digital silence.
SILENCE_PEAK = 1e-4
CLIP_LEVEL = 0.999
# largest encoded file accepted: 30 minutes (the default LAB_MAX_AUDIO_S) of 16-bit 48 kHz stereo WAV
# fits; the dashboard's upload limit (.streamlit/config.toml server.maxUploadSize, MiB) is the same
MAX_UPLOAD_MB = 350


@dataclass(frozen=True)
class ClipStats:
    duration_s: float
    peak: float
    rms_dbfs: float
    clipped_fraction: float


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Decoded audio: mono float32 at `sample_rate`, plus where it came from."""

    samples: np.ndarray
    sample_rate: int
    name: str
    sha256: str
    original_channels: int
    original_rate: int
    container: str = ""
    data: bytes = field(default=b"", repr=False)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @cached_property
    def stats(self) -> ClipStats:
        return clip_stats(self.samples, self.sample_rate)


def clip_stats(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> ClipStats:
    if samples.size == 0:
        return ClipStats(0.0, 0.0, float("-inf"), 0.0)
    abs_s = np.abs(samples)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return ClipStats(
        duration_s=samples.size / sample_rate,
        peak=float(abs_s.max()),
        rms_dbfs=float(20 * np.log10(rms)) if rms > 0 else float("-inf"),
        clipped_fraction=float(np.mean(abs_s >= CLIP_LEVEL)),
    )


def load_audio(
    source: str | os.PathLike | bytes,
    name: str | None = None,
    max_duration_s: float | None = None,
) -> AudioClip:
    """Decode a file path or encoded bytes into an `AudioClip`, or raise `AudioError`."""
    data = _read_bytes(source)
    if name is None:
        name = Path(source).name if not isinstance(source, bytes) else "upload"
    limit = settings().max_audio_s if max_duration_s is None else max_duration_s
    if not data:
        raise AudioError(f"{name}: the file is empty (0 bytes).")
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise AudioError(f"{name}: larger than {MAX_UPLOAD_MB} MB; cut or compress it first.")
    samples, channels, rate, container = _decode(data, name, limit)
    _check(samples, name, limit)
    return AudioClip(
        samples=samples,
        sample_rate=SAMPLE_RATE,
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        original_channels=channels,
        original_rate=rate,
        container=container,
        data=data,
    )


def from_array(samples: np.ndarray, sample_rate: int, name: str = "array") -> AudioClip:
    """Wrap samples already in memory (e.g. synthesized speech) as a clip, resampled to 16 kHz."""
    x = np.asarray(samples, dtype=np.float32)
    channels = 1 if x.ndim == 1 else x.shape[0]
    if x.ndim > 1:
        x = x.mean(axis=0)
    data = to_wav_bytes(x, sample_rate)  # kept at the original rate, for listening
    x = resample(x, sample_rate, SAMPLE_RATE)
    return AudioClip(x, SAMPLE_RATE, name, hashlib.sha256(data).hexdigest(), channels, sample_rate, "wav", data)


class PcmConverter:
    """Live audio frames (PyAV `AudioFrame`s: a browser's 48 kHz stereo s16 over WebRTC, say) into the
    16 kHz mono float32 the models take. One FFmpeg resampler keeps its state across frames, so
    20 ms pieces join without clicks at their edges. Channels are averaged here, as `load_audio` does:
    FFmpeg's own stereo-to-mono mix adds them at -3 dB, 1.41 times louder for a duplicated mono mic."""

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None

    def convert(self, frames: list[av.AudioFrame]) -> np.ndarray:
        if frames and self._resampler is None:  # planar float at 16 kHz in the source's own layout
            self._resampler = av.AudioResampler(format="fltp", layout=frames[0].layout.name, rate=SAMPLE_RATE)
        out = [f.to_ndarray().mean(axis=0) for frame in frames for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling (torchaudio's windowed sinc); a no-op when the rates match."""
    if src == dst:
        return x
    import torch
    import torchaudio.functional as F

    return F.resample(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), src, dst).numpy()


def to_wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV of float samples in [-1, 1]."""
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _read_bytes(source: str | os.PathLike | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    path = Path(source)
    if not path.exists():
        raise AudioError(f"{path}: no such file.")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file.")
    if path.stat().st_size > MAX_UPLOAD_MB * 2**20:
        raise AudioError(f"{path}: larger than {MAX_UPLOAD_MB} MB; cut or compress it first.")
    return path.read_bytes()


def _decode(data: bytes, name: str, limit_s: float) -> tuple[np.ndarray, int, int, str]:
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as e:
        raise AudioError(f"{name}: not a recognised audio file ({_why(e)}).") from None
    with container:
        if not container.streams.audio:
            raise AudioError(f"{name}: the file has no audio stream.")
        stream = container.streams.audio[0]
        channels, rate = stream.codec_context.channels, stream.codec_context.sample_rate
        claimed = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                # trust the header's duration only once a frame decodes: corrupt headers claim anything
                if not chunks and claimed > limit_s:
                    raise AudioError(_too_long(name, claimed, limit_s))
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit_s * SAMPLE_RATE:
                    raise AudioError(_too_long(name, total / SAMPLE_RATE, limit_s, at_least=True))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as e:
            if not chunks:
                raise AudioError(f"{name}: the audio is corrupt and could not be decoded ({_why(e)}).") from None
            # Partly decodable: a truncated upload still yields what it holds, like most players.
        fmt = container.format.name.split(",")[0] if container.format else ""
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return samples, int(channels or 0), int(rate or 0), fmt


def _check(samples: np.ndarray, name: str, limit_s: float) -> None:
    duration = samples.size / SAMPLE_RATE
    if samples.size == 0:
        raise AudioError(f"{name}: no audio could be decoded from the file; it may be corrupt or truncated.")
    if duration < MIN_DURATION_S:
        raise AudioError(f"{name}: too short ({duration:.3f} s); at least {MIN_DURATION_S} s is needed.")
    if duration > limit_s:
        raise AudioError(_too_long(name, duration, limit_s))
    if float(np.abs(samples).max()) < SILENCE_PEAK:
        raise AudioError(f"{name}: the recording is silent (peak below -80 dBFS); check the microphone or file.")


def _too_long(name: str, duration: float, limit_s: float, at_least: bool = False) -> str:
    more = "at least " if at_least else ""
    return (
        f"{name}: too long ({more}{duration / 60:.1f} min); the limit is {limit_s / 60:.1f} min "
        "(set LAB_MAX_AUDIO_S to change it)."
    )


def _why(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return msg.strip().rstrip(".") or type(e).__name__
