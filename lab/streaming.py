"""Streaming recognition: feed audio chunks, get partial and committed words with the time each was emitted.

Engines with native incremental decoding give `open_stream(options)` (PocketSphinx). Every other ASR
engine streams through `LocalAgreement` (LocalAgreement-2, Macháček et al. 2023, whisper_streaming):
re-transcribe a growing buffer after each chunk and commit the longest common prefix of the last two
hypotheses; trim the buffer at committed sentence ends so it stays short. Written once here, for any
engine that only has `transcribe`.

`play` drives a stream over a clip chunk by chunk, either at real speed or with a simulated clock
(chunk i arrives at its end time; the recogniser is busy for its measured compute), and records the
timeline that the metrics, the store and the dashboard replay all read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import AsrEngine, AsrOptions, StreamStep, Word

SENTENCE_END = re.compile(r"[.?!…]$")
TRIM_S = 15.0  # past this the buffer is cut at the last committed sentence end (whisper_streaming's default)
MAX_BUFFER_S = 25.0  # and past this, without a sentence end, at the last committed word
PROMPT_CHARS = 200
ONSET_TOLERANCE_S = 0.1  # a re-transcribed word starting before the committed end by less is the same word


class Stream(Protocol):
    def feed(self, samples: np.ndarray) -> StreamStep: ...

    def finish(self) -> StreamStep: ...


def norm(word: str) -> str:
    """Words compare without case or punctuation ("country." == "Country")."""
    return re.sub(r"[^\w']", "", word.lower())


class LocalAgreement:
    """LocalAgreement-2 over any engine's offline `transcribe`."""

    def __init__(self, engine: AsrEngine, options: AsrOptions, sample_rate: int = 16_000) -> None:
        self.engine, self.options, self.rate = engine, replace(options, word_timestamps=True), sample_rate
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset_s = 0.0  # audio time of buffer[0]
        self.committed: list[Word] = []
        self.previous: list[Word] = []  # last hypothesis, uncommitted part

    @property
    def committed_end(self) -> float:
        return self.committed[-1].end if self.committed else self.offset_s

    def feed(self, samples: np.ndarray) -> StreamStep:
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32)])
        hyp = self._hypothesis()
        agreed = _common_prefix(self.previous, hyp)
        new = [_clamp(w, self._fed_s) for w in hyp[:agreed]]
        self.committed += new
        self.previous = hyp[agreed:]
        self._trim()
        return StreamStep(new, [w.word for w in self.previous])

    def finish(self) -> StreamStep:
        """End of audio: the last hypothesis is all there will be, so commit it."""
        new = [_clamp(w, self._fed_s) for w in self.previous]
        self.committed += new
        self.previous = []
        return StreamStep(new, [])

    @property
    def _fed_s(self) -> float:
        return self.offset_s + len(self.buffer) / self.rate

    def _hypothesis(self) -> list[Word]:
        clip = AudioClip(self.buffer, self.rate, "stream", "", 1, self.rate)
        # what was committed before the buffer keeps Whisper in context, as whisper_streaming does
        before = " ".join(w.word for w in self.committed if w.end <= self.offset_s)[-PROMPT_CHARS:]
        t = self.engine.transcribe(clip, replace(self.options, prompt=before or None))
        words = [Word(w.start + self.offset_s, w.end + self.offset_s, w.word.strip(), w.probability)
                 for w in t.words if w.word.strip()]
        words = [w for w in words if w.start > self.committed_end - ONSET_TOLERANCE_S]
        return _drop_repeat(self.committed, words)

    def _trim(self) -> None:
        """Cut the buffer after the last committed sentence end (or any committed word once it is long)."""
        if len(self.buffer) / self.rate <= TRIM_S:
            return
        cut = next((w.end for w in reversed(self.committed) if SENTENCE_END.search(w.word)
                    and w.end > self.offset_s), None)
        if cut is None and len(self.buffer) / self.rate > MAX_BUFFER_S and self.committed:
            cut = self.committed[-1].end
        if cut is None or cut <= self.offset_s:
            return
        n = int((cut - self.offset_s) * self.rate)
        self.buffer, self.offset_s = self.buffer[n:], self.offset_s + n / self.rate


def _common_prefix(a: list[Word], b: list[Word]) -> int:
    n = 0
    while n < min(len(a), len(b)) and norm(a[n].word) == norm(b[n].word):
        n += 1
    return n


def _drop_repeat(committed: list[Word], words: list[Word], longest: int = 5) -> list[Word]:
    """A hypothesis may start by repeating the tail of what is committed (word times shift): drop it."""
    tail = [norm(w.word) for w in committed[-longest:]]
    for n in range(min(len(tail), len(words)), 0, -1):
        if tail[-n:] == [norm(w.word) for w in words[:n]]:
            return words[n:]
    return words


def _clamp(w: Word, fed_s: float) -> Word:
    # a word cannot end after the audio that has been heard
    return w if w.end <= fed_s else replace(w, end=fed_s, start=min(w.start, fed_s))


def open_stream(engine: AsrEngine, options: AsrOptions) -> Stream:
    """The engine's native stream where it has one, else LocalAgreement-2 over its `transcribe`."""
    native = getattr(engine, "open_stream", None)
    return native(options) if native else LocalAgreement(engine, options)


def is_native(engine: AsrEngine) -> bool:
    return hasattr(engine, "open_stream")


# ---- playing a clip as a live stream ----------------------------------------------------------------


@dataclass(frozen=True)
class Emitted:
    """A committed word and when it appeared (seconds since the stream started)."""

    word: str
    start: float
    end: float
    emitted_s: float


@dataclass(frozen=True)
class Tick:
    """The display after one chunk: what it shows and when (seconds since the stream started)."""

    audio_s: float  # audio heard so far
    at_s: float  # when this display appeared
    compute_s: float  # time the recogniser spent on this chunk
    committed: str
    partial: str
    fed_s: float = 0.0  # audio in this step (a live stream that fell behind takes all that waited); 0: chunk_s


@dataclass
class Timeline:
    chunk_s: float
    duration_s: float
    realtime: bool
    ticks: list[Tick] = field(default_factory=list)
    words: list[Emitted] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)

    def add(self, step: StreamStep, audio_s: float, at_s: float, compute_s: float, fed_s: float) -> Tick:
        """Record one step: its committed words are emitted at `at_s` (never before the audio they cover)."""
        self.words += [Emitted(w.word, w.start, w.end, max(at_s, w.end)) for w in step.committed]
        tick = Tick(audio_s, at_s, compute_s, self.text, " ".join(step.partial), fed_s)
        self.ticks.append(tick)
        return tick

    def to_json(self) -> dict:
        return {"chunk_s": self.chunk_s, "duration_s": self.duration_s, "realtime": self.realtime,
                "ticks": [t.__dict__ for t in self.ticks], "words": [w.__dict__ for w in self.words]}

    @classmethod
    def from_json(cls, d: dict) -> Timeline:
        return cls(d["chunk_s"], d["duration_s"], d["realtime"], [Tick(**t) for t in d.get("ticks", [])],
                   [Emitted(**w) for w in d.get("words", [])])


def chunks(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for i in range(0, len(samples), size):
        yield samples[i:i + size]


def play(stream: Stream, clip: AudioClip, chunk_s: float = 0.5, realtime: bool = False,
         on_tick: Callable[[Tick], None] | None = None) -> Timeline:
    """Feed `clip` to `stream` in `chunk_s` pieces; with `realtime`, at the speed the audio plays.

    Simulated clock: a chunk is available at its end time; the recogniser starts on it when both the
    chunk and the recogniser are free, and what it emits appears when it finishes."""
    if chunk_s <= 0:
        raise ValueError("chunk length must be positive")
    size = max(1, int(chunk_s * clip.sample_rate))
    line = Timeline(chunk_s, clip.duration_s, realtime)
    clock, heard, wall0 = 0.0, 0, time.perf_counter()
    pieces = list(chunks(clip.samples, size))
    for piece in [*pieces, None]:
        heard += 0 if piece is None else len(piece)
        audio_s = heard / clip.sample_rate
        if realtime and piece is not None:
            time.sleep(max(0.0, audio_s - (time.perf_counter() - wall0)))
        start = time.perf_counter()
        step = stream.finish() if piece is None else stream.feed(piece)
        compute = time.perf_counter() - start
        clock = (time.perf_counter() - wall0) if realtime else max(clock, audio_s) + compute
        tick = line.add(step, audio_s, clock, compute, 0.0 if piece is None else len(piece) / clip.sample_rate)
        if on_tick:
            on_tick(tick)
    return line


# ---- the latencies voice products are judged on ------------------------------------------------------


@dataclass(frozen=True)
class StreamMetrics:
    first_word_s: float | None  # stream start → first word on screen (partial or committed)
    emission_p50_s: float | None  # committed word's emission time − its end in the audio
    emission_p95_s: float | None
    revised_words: int  # words shown as partial and later changed or withdrawn (committed: 0 by construction)
    kept_up: bool  # compute took no longer than the audio it was given (p95 over steps)
    rtf: float | None  # compute seconds per audio second
    final_lag_s: float  # how long after the audio ended the last text appeared


def metrics(line: Timeline) -> StreamMetrics:
    first = next((t.at_s for t in line.ticks if t.committed or t.partial), None)
    lags = [w.emitted_s - w.end for w in line.words]
    computes = [t.compute_s for t in line.ticks]
    # the final flush runs after the audio ended, so it is not a chunk the stream had to keep up with
    loads = [t.compute_s / (t.fed_s or line.chunk_s) for t in line.ticks[:-1] or line.ticks]
    p95 = float(np.percentile(loads, 95)) if loads else 0.0
    return StreamMetrics(
        first_word_s=first,
        emission_p50_s=float(np.percentile(lags, 50)) if lags else None,
        emission_p95_s=float(np.percentile(lags, 95)) if lags else None,
        revised_words=revised_words(line.ticks),
        kept_up=p95 <= 1.0,
        rtf=sum(computes) / line.duration_s if line.duration_s else None,
        final_lag_s=max(0.0, line.ticks[-1].at_s - line.duration_s) if line.ticks else 0.0,
    )


def revised_words(ticks: list[Tick]) -> int:
    """Flicker: words on screen that a later display changed or took back."""
    count, shown = 0, []
    for t in ticks:
        now = (t.committed + " " + t.partial).split()
        count += sum(1 for i, w in enumerate(shown) if i >= len(now) or norm(now[i]) != norm(w))
        shown = now
    return count
