"""Audio decoding: every browser/recorder format to mono 16 kHz, and a clear AudioError for bad input."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from lab.audio import SAMPLE_RATE, AudioClip, load_audio, to_wav_bytes
from lab.errors import AudioError
from lab.settings import override
from tests.conftest import shared


def encode(samples: np.ndarray, rate: int, fmt: str, codec: str, channels: int = 1) -> bytes:
    """Encode float samples with PyAV/FFmpeg, the way a browser or phone would hand us a file."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo" if channels == 2 else "mono")
        planar = np.tile(samples.astype(np.float32), (channels, 1))
        frame_fmt = "fltp" if codec != "pcm_s16le" else "s16"
        size = 960 if codec == "libopus" else 1024
        for i in range(0, planar.shape[1], size):
            chunk = planar[:, i:i + size]
            if frame_fmt == "s16":
                arr = (chunk.T.reshape(1, -1) * 32767).astype(np.int16)
            else:
                arr = np.ascontiguousarray(chunk)
            frame = av.AudioFrame.from_ndarray(arr, format=frame_fmt, layout=stream.layout.name)
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def tone(seconds: float, rate: int = 48_000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_flac_stereo_44k_becomes_mono_16k(jfk: Path) -> None:
    clip = load_audio(jfk)
    assert isinstance(clip, AudioClip)
    assert clip.sample_rate == SAMPLE_RATE and clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.original_channels == 2 and clip.original_rate == 44_100
    assert clip.duration_s == pytest.approx(11.0, abs=0.05)
    assert len(clip.sha256) == 64 and clip.name == "jfk.flac"
    st = clip.stats
    assert 0.3 < st.peak <= 1.5 and -40 < st.rms_dbfs < -3 and 0 <= st.clipped_fraction < 0.01


@pytest.mark.parametrize("name,duration", [("beckett.wav", 9.96), ("hotwords.mp3", 4.0), ("two_cities.wav", 44.37)])
def test_shared_formats_decode(name: str, duration: float) -> None:
    clip = load_audio(shared(name))
    assert clip.duration_s == pytest.approx(duration, abs=0.1)


@pytest.mark.parametrize(
    "fmt,codec,rate",
    [("ogg", "libopus", 48_000), ("webm", "libopus", 48_000), ("ogg", "libvorbis", 44_100),
     ("mp4", "aac", 44_100), ("mp3", "libmp3lame", 22_050), ("wav", "pcm_s16le", 8_000)],
)
def test_browser_and_phone_formats(fmt: str, codec: str, rate: int) -> None:
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    data = encode(tone(1.0, rate), rate, fmt, codec, channels=2)
    clip = load_audio(data, name=f"rec.{fmt}")
    assert clip.original_rate == rate and clip.original_channels == 2
    assert clip.duration_s == pytest.approx(1.0, abs=0.1)  # codec priming may add a few ms
    # the tone survives: its spectrum peaks at 440 Hz
    spectrum = np.abs(np.fft.rfft(clip.samples[: SAMPLE_RATE // 2]))
    assert abs(np.argmax(spectrum) * 2 - 440) <= 4


def test_bytes_and_path_give_same_audio(jfk: Path) -> None:
    a, b = load_audio(jfk), load_audio(jfk.read_bytes(), name="x.flac")
    assert a.sha256 == b.sha256 and np.array_equal(a.samples, b.samples)


BROKEN_WAV = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(range(256)) * 4


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: write(d, "empty.wav", b""), "empty"),
        (lambda d: write(d, "notes.txt", b"hello, this is not audio at all\n" * 20), "not a recognised audio"),
        (lambda d: write(d, "broken.wav", BROKEN_WAV), "not a recognised audio"),
        (lambda d: write(d, "short.wav", to_wav_bytes(tone(0.05, SAMPLE_RATE))), "too short"),
        (lambda d: write(d, "silent.wav", to_wav_bytes(np.zeros(SAMPLE_RATE, np.float32))), "silent"),
        (lambda d: d, "directory"),
        (lambda d: d / "missing.flac", "no such file"),
    ],
)
def test_bad_input_is_a_clear_audio_error(tmp_path: Path, make, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AudioError, match=message) as err:
        load_audio(make(tmp_path))
    assert "\n" not in str(err.value)


def test_corrupt_body_is_refused(tmp_path: Path, jfk: Path) -> None:
    data = jfk.read_bytes()
    garbage = data[:64] + bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8))
    with pytest.raises(AudioError, match="corrupt"):
        load_audio(write(tmp_path, "garbage.flac", garbage))


def test_truncated_upload_keeps_what_it_holds(jfk: Path) -> None:
    data = jfk.read_bytes()
    clip = load_audio(data[: len(data) // 2], name="half.flac")
    assert 4.0 < clip.duration_s < 7.0


def test_too_long_respects_the_limit(jfk: Path) -> None:
    with pytest.raises(AudioError, match="too long.*limit is 0.1 min"):
        load_audio(jfk, max_duration_s=6)
    assert load_audio(jfk, max_duration_s=12).duration_s == pytest.approx(11.0, abs=0.05)


def test_default_limit_is_read_when_loading(jfk: Path) -> None:
    with override(max_audio_s=6.0), pytest.raises(AudioError, match="too long"):  # LAB_MAX_AUDIO_S, read per call
        load_audio(jfk)


def test_wav_writer_round_trips() -> None:
    x = tone(0.5, SAMPLE_RATE)
    data = to_wav_bytes(x)
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnframes() == x.size
    clip = load_audio(data, name="t.wav")
    assert np.max(np.abs(clip.samples - x)) < 1e-3
