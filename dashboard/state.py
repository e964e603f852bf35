"""The dashboard's process-wide state (the one place `st.cache_resource` is used): the model cache, decoded clips,
availability, sample sets, the run lock and the vote-derived leaderboards."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.cards import Envelope, envelope
from dashboard.format import AUDIO_TYPES, REPO
from lab import audio, store
from lab.audio import AudioClip
from lab.engines import Availability, all_availability
from lab.errors import AudioError, LabError
from lab.eval.arena import Rating
from lab.loading import ModelCache, default_cache
from lab.settings import settings


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    reference: str | None
    duration_s: float | None
    language: str | None
    source: str  # "shared" or "data"
    size_bytes: int

    @property
    def label(self) -> str:
        dur = f" · {self.duration_s:.1f} s" if self.duration_s else ""
        lang = f" · {self.language}" if self.language else ""
        return f"{self.name}{dur}{lang} ({self.source})"


def shared_audio_dir() -> Path:
    return settings().shared_audio


def sample_sets(dirs: Sequence[tuple[str, Path]] | None = None) -> list[Sample]:
    """Recordings with references: ../shared/audio and the repo's data/ (manifest.csv with file,reference,...,
    or NAME.txt beside NAME.wav). Missing folders are simply skipped."""
    dirs = dirs if dirs is not None else [("shared", shared_audio_dir()), ("data", REPO / "data")]
    out: list[Sample] = []
    for source, folder in dirs:
        if not folder.is_dir():
            continue
        listed: dict[str, dict[str, str]] = {}
        manifest = folder / "manifest.csv"
        if manifest.is_file():
            try:
                with manifest.open(newline="", encoding="utf-8") as f:
                    listed = {row["file"]: row for row in csv.DictReader(f) if row.get("file")}
            except (OSError, ValueError, csv.Error):  # a broken manifest: the clips stay, without references
                listed = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower().lstrip(".") not in AUDIO_TYPES or not path.is_file():
                continue
            row = listed.get(path.name, {})
            ref = row.get("reference") or None
            side = path.with_suffix(".txt")
            if ref is None and side.is_file():
                ref = side.read_text(encoding="utf-8").strip() or None
            try:
                dur = float(row["duration_s"]) if row.get("duration_s") else None
            except ValueError:
                dur = None
            out.append(Sample(path.name, path, ref, dur, row.get("language") or None, source, path.stat().st_size))
    return out


def match_sample(name: str, size: int, samples: Iterable[Sample]) -> Sample | None:
    """The sample an upload is a copy of (same name and size), so its reference can fill in."""
    return next((s for s in samples if s.name == name and s.size_bytes == size), None)


@dataclass(frozen=True)
class Decoded:
    """A decoded clip and its waveform envelope, or the AudioError message that decoding gave."""

    clip: AudioClip | None
    envelope: Envelope | None
    error: str | None


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """The core's model cache, held across reruns and sessions: a rerun never reloads a model."""
    return default_cache()


@st.cache_resource(show_spinner=False)
def run_lock() -> threading.Lock:
    """One comparison at a time per server: sessions share the loaded engines (not all are thread-safe),
    and models competing for the CPU would skew each other's timings."""
    return threading.Lock()


@st.cache_resource(show_spinner=False, max_entries=8)
def decoded(key: str, name: str, _read: Callable[[], bytes]) -> Decoded:
    """Decode once per input (key: upload id, recording id or sample path); errors are cached too, so a
    rerun never re-decodes. `_read` is excluded from hashing and only called on a miss."""
    try:
        clip = audio.load_audio(_read(), name)
    except AudioError as e:
        return Decoded(None, None, str(e))
    except LabError as e:  # pragma: no cover - load_audio raises AudioError, but stay safe
        return Decoded(None, None, str(e))
    return Decoded(clip, envelope(clip.samples, clip.sample_rate), None)


@st.cache_resource(show_spinner=False, ttl=300)
def availability() -> list[Availability]:
    """Which models can run here; re-checked every 5 minutes (or on System → Refresh)."""
    return all_availability()


@st.cache_resource(show_spinner=False, ttl=300)
def samples() -> list[Sample]:
    return sample_sets()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the server's run lock (see `run_lock`) around model work, saying so while another run holds it.
    A Streamlit call on every wait, so a stop request still gets through."""
    lock = run_lock()
    waiting = st.empty()
    while not lock.acquire(timeout=0.5):
        waiting.info("Another run is using the models on this server; waiting for it so timings stay fair…",
                     icon=":material/hourglass_top:")
    waiting.empty()
    try:
        yield
    finally:
        lock.release()


@st.cache_resource(show_spinner=False, ttl=300)
def tts_voices(model_id: str) -> tuple[tuple[str, ...], str | None]:
    """A TTS model's voices (loading it through the shared cache when the engine does not declare them), or
    the LabError message saying why they cannot be listed."""
    from lab.tts import voices

    try:
        return tuple(voices(model_id, model_cache())), None
    except LabError as e:
        return (), str(e)


def votes_stamp(task: str) -> tuple[str, int, int | None]:
    """What a leaderboard depends on (database, vote count, newest vote), so it is refitted only after a vote."""
    count, newest = store.vote_count(task)
    return settings().db_url, count, newest


@st.cache_resource(show_spinner=False, max_entries=16)
def leaderboard(task: str, min_votes: int, stamp: tuple[str, int, int | None]) -> list[Rating]:
    """`lab.eval.arena.leaderboard` (a bootstrap of Bradley-Terry fits: tenths of a second), once per `votes_stamp`."""
    from lab.eval.arena import leaderboard as fit

    return fit(task, min_votes)
