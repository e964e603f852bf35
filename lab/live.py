"""A stored streaming run: each model plays the clip as a live stream, scored beside its own offline result.

The run is kind `stream`; each result keeps its streaming metrics and the whole timeline (what was on
screen after every chunk, and when) in `extra["stream"]`, so History and the dashboard can replay it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np

from lab import store
from lab.audio import SAMPLE_RATE, AudioClip, from_array
from lab.engines.base import AsrEngine, AsrOptions, Transcription, Word
from lab.errors import AudioError, LabError, failure_message
from lab.loading import ModelCache, default_cache
from lab.metrics import rtfx
from lab.runner import ModelResult, fill_result, ready_engine, run_status, transcribe_one
from lab.settings import settings
from lab.streaming import Stream, StreamMetrics, Tick, Timeline, is_native, metrics, open_stream, play

STREAM_JSON_KEYS = ("model", "text", "wer", "offline_wer", "first_word_s", "emission_p50_s", "emission_p95_s",
                    "revised_words", "kept_up", "rtf", "error")


@dataclass
class StreamResult:
    model: str
    result: ModelResult  # the streamed text, scored like any transcription
    offline: ModelResult | None = None
    timeline: Timeline | None = None
    metrics: StreamMetrics | None = None
    native: bool = False  # the engine's own incremental decoding, not LocalAgreement-2

    @property
    def error(self) -> str | None:
        return self.result.error

    def to_json(self) -> dict:
        m = asdict(self.metrics) if self.metrics else {}
        values = {"model": self.model, "text": self.result.text, "wer": self.result.wer,
                  "offline_wer": self.offline.wer if self.offline else None, "error": self.error, **m}
        return {k: values.get(k) for k in STREAM_JSON_KEYS}

    def row(self) -> dict:
        row = self.result.row()
        row["extra"] = {**row["extra"], "stream": {
            **{k: v for k, v in self.to_json().items() if k not in ("model", "text", "error")},
            "native": self.native, "final_lag_s": self.metrics.final_lag_s if self.metrics else None,
            "offline_text": self.offline.text if self.offline else None,
            "offline_latency_s": self.offline.latency_s if self.offline else None,
            "timeline": self.timeline.to_json() if self.timeline else None}}
        return row


def stream_one(clip: AudioClip, model_id: str, reference: str | None = None, chunk_s: float = 0.5,
               realtime: bool = False, options: AsrOptions | None = None, cache: ModelCache | None = None,
               on_tick: Callable[[Tick], None] | None = None, offline: bool = True) -> StreamResult:
    """Stream one clip through one model (never raises for the model's own failure), then run it offline."""
    options, cache = options or AsrOptions(), cache or default_cache()
    # offline first: it also loads and warms the model, so the stream's first chunk pays no load
    off = transcribe_one(clip, model_id, reference, options, cache) if offline else None
    result = _ran_with(model_id, None, options)
    if off is not None and off.error:
        result.error = off.error
        return StreamResult(model_id, result, off)
    try:
        engine = cache.acquire(model_id).engine
        result = _ran_with(model_id, engine, options)
        line = play(open_stream(engine, options), clip, chunk_s, realtime, on_tick)
    except LabError as e:
        result.error = str(e)
        return StreamResult(model_id, result, off)
    except Exception as e:  # the engine's own crash: this model's result, the others carry on
        result.error = failure_message(model_id, e, "streaming")
        return StreamResult(model_id, result, off)
    _score(result, engine, line, clip, reference)
    return StreamResult(model_id, result, off, line, metrics(line), is_native(engine))


def _ran_with(model_id: str, engine: AsrEngine | None, options: AsrOptions) -> ModelResult:
    """An empty result labelled with the settings the stream runs with (the engine's, once it is loaded)."""
    result = ModelResult(model_id, beam_size=options.beam_size)
    if engine is not None:
        cfg = engine.config
        result.device, result.compute_type, result.threads = cfg.device, cfg.compute_type, cfg.threads
    return result


def _score(result: ModelResult, engine: AsrEngine, line: Timeline, clip: AudioClip, reference: str | None) -> None:
    """The streamed text as a result: scored like any transcription; latency is the stream's total compute."""
    words = [Word(w.start, w.end, w.word) for w in line.words]
    result.latency_s = sum(t.compute_s for t in line.ticks)
    heard = Transcription(line.text, "en" if engine.spec.english_only else None, words=words)
    fill_result(result, heard, clip, reference)
    result.rtfx = rtfx(clip.duration_s, result.latency_s)


def _run_settings(model_ids: list[str], options: AsrOptions, chunk_s: float, realtime: bool, sequential: bool,
                  **extra: str) -> dict:
    """A stream run's stored settings; `sequential`: each model streamed alone, one after another."""
    return {"models": model_ids, "options": asdict(options), "chunk_ms": round(chunk_s * 1000),
            "realtime": realtime, "sequential": sequential, **extra}


def _finish_run(run_id: int, results: list[StreamResult], expected: int) -> None:
    status = run_status([not r.error for r in results], expected)
    store.finish_run(run_id, status, {"stream": [r.to_json() for r in results]})


class StreamComparison:
    """One stored `stream` run of a clip through several models, each result stored as it arrives."""

    def __init__(self, clip: AudioClip, model_ids: Sequence[str], reference: str | None = None,
                 chunk_s: float = 0.5, realtime: bool = False, options: AsrOptions | None = None,
                 cache: ModelCache | None = None, store_run: bool = True) -> None:
        if chunk_s <= 0:
            raise ValueError("--chunk-ms must be positive")
        self.clip, self.model_ids, self.reference = clip, list(model_ids), reference
        self.chunk_s, self.realtime = chunk_s, realtime
        self.options, self.cache = options or AsrOptions(), cache or default_cache()
        self.results: list[StreamResult] = []
        self.run_id: int | None = None
        if store_run:
            settings = _run_settings(self.model_ids, self.options, chunk_s, realtime, sequential=True)
            self.run_id = store.start_run("stream", settings, clip_id=store.save_clip(clip), reference=reference)

    def run_model(self, model_id: str, on_tick: Callable[[Tick], None] | None = None) -> StreamResult:
        r = stream_one(self.clip, model_id, self.reference, self.chunk_s, self.realtime, self.options,
                       self.cache, on_tick)
        self.results.append(r)
        if self.run_id is not None:
            store.add_result(self.run_id, r.row())
        return r

    def __iter__(self) -> Iterator[StreamResult]:
        try:
            for model_id in self.model_ids:
                yield self.run_model(model_id)
        finally:
            self.finish()

    def finish(self) -> None:
        if self.run_id is None:
            return
        _finish_run(self.run_id, self.results, len(self.model_ids))


def stored_stream(extra: dict) -> tuple[dict, Timeline | None]:
    """A stored result's streaming metrics and its timeline, for replay."""
    s = (extra or {}).get("stream") or {}
    line = s.get("timeline")
    return s, Timeline.from_json(line) if line else None


def display_at(line: Timeline, t: float) -> Tick | None:
    """What the model's card showed at time `t` of the stream (None before its first display)."""
    shown = None
    for tick in line.ticks:
        if tick.at_s > t:
            break
        shown = tick
    return shown


# ---- a live source: several models listening at once ------------------------------------------------------


@dataclass
class _Lane:
    """One model's side of a live session: its stream, its timeline and where it has read the audio up to."""

    model: str
    engine: AsrEngine | None = None
    stream: Stream | None = None
    line: Timeline | None = None
    error: str | None = None
    read: int = 0  # samples taken from the session's audio
    taken: int = 0  # pieces of it taken
    thread: threading.Thread | None = field(default=None, repr=False)


class LiveSession:
    """Several models listening to one live source at once: a microphone, or a recording played at real speed.

    `push` hands over 16 kHz mono audio as it arrives. Each model has its own thread that takes all the audio
    that arrived since its last step (at least one chunk), so a model that falls behind answers in bigger
    steps instead of queueing, as a live product would; every model's timeline runs on one wall clock
    (seconds since the first audio). Models share the machine, so the latencies are those of running them
    side by side. `stop` flushes every stream, scores it, runs each model offline on the recorded audio, and
    stores it all as a `stream` run that History replays."""

    def __init__(self, model_ids: Sequence[str], reference: str | None = None, chunk_s: float = 0.5,
                 options: AsrOptions | None = None, cache: ModelCache | None = None,
                 source: str = "microphone") -> None:
        if chunk_s <= 0:
            raise ValueError("chunk length must be positive")
        self.model_ids, self.reference, self.chunk_s, self.source = list(model_ids), reference, chunk_s, source
        self.options, self.cache = options or AsrOptions(), cache or default_cache()
        self.lanes = {m: _Lane(m) for m in self.model_ids}
        self._audio: list[np.ndarray] = []
        self._received = 0  # samples
        self._t0: float | None = None  # wall time of audio time 0
        self._stopping = False
        self._cond = threading.Condition()
        self.limit_s = settings().max_audio_s

    def start(self, progress: Callable[[str, str], None] | None = None) -> LiveSession:
        """Load and warm every model before any audio counts; a model that cannot load keeps its error."""
        for lane in self.lanes.values():
            try:
                lane.engine = ready_engine(lane.model, self.options, self.cache,
                                           (lambda stage, m=lane.model: progress(m, stage)) if progress else None)
                lane.stream = open_stream(lane.engine, self.options)
            except LabError as e:
                lane.error = str(e)
            except Exception as e:  # the engine's own crash: this model's result, the others carry on
                lane.error = failure_message(lane.model, e, "starting its stream")
            lane.line = Timeline(self.chunk_s, 0.0, True)
        for lane in self.lanes.values():
            if lane.stream is not None:
                lane.thread = threading.Thread(target=self._listen, args=(lane,), daemon=True,
                                               name=f"live-{lane.model}")
                lane.thread.start()
        return self

    @property
    def heard_s(self) -> float:
        return self._received / SAMPLE_RATE

    @property
    def full(self) -> bool:
        """The recording reached the longest audio the lab accepts (LAB_MAX_AUDIO_S); further audio is dropped."""
        return self.heard_s >= self.limit_s

    def elapsed_s(self) -> float:
        return 0.0 if self._t0 is None else time.perf_counter() - self._t0

    def push(self, samples: np.ndarray) -> None:
        """Hand over audio as it arrives: 16 kHz mono float32 (see `lab.audio.PcmConverter` for other PCM)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not len(x) or self._stopping or self.full:
            return
        with self._cond:
            if self._t0 is None:  # the first piece ends now, so audio time 0 was its length ago
                self._t0 = time.perf_counter() - len(x) / SAMPLE_RATE
            self._audio.append(x)
            self._received += len(x)
            self._cond.notify_all()

    def snapshot(self) -> dict[str, tuple[Tick | None, str | None]]:
        """Each model's latest display (None before its first) and its error, for a live view."""
        return {m: (lane.line.ticks[-1] if lane.line and lane.line.ticks else None, lane.error)
                for m, lane in self.lanes.items()}

    def _take(self, lane: _Lane) -> tuple[np.ndarray, bool]:
        """All audio since the lane's last step, once there is a chunk of it (or the session is ending)."""
        need = int(self.chunk_s * SAMPLE_RATE)
        with self._cond:
            self._cond.wait_for(lambda: self._received - lane.read >= need or self._stopping)
            fresh = self._audio[lane.taken:]
            lane.taken, lane.read = len(self._audio), self._received
            return (np.concatenate(fresh) if fresh else np.zeros(0, np.float32)), self._stopping

    def _listen(self, lane: _Lane) -> None:
        try:
            while True:
                piece, last = self._take(lane)
                if len(piece):
                    self._step(lane, partial(lane.stream.feed, piece), len(piece) / SAMPLE_RATE)
                if last:
                    self._step(lane, lane.stream.finish, 0.0)
                    return
        except Exception as e:  # the engine's own crash mid-stream: this model stops, the others carry on
            lane.error = failure_message(lane.model, e, "streaming")

    def _step(self, lane: _Lane, step: Callable, fed_s: float) -> None:
        start = time.perf_counter()
        out = step()
        compute = time.perf_counter() - start
        lane.line.add(out, lane.read / SAMPLE_RATE, self.elapsed_s(), compute, fed_s)

    def stop(self, store_run: bool = True, offline: bool = True,
             name: str | None = None) -> tuple[int | None, list[StreamResult]]:
        """End the stream: flush every model, score it, compare with each model offline on the same audio,
        and store the run. Raises `AudioError` when too little was heard to keep."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for lane in self.lanes.values():
            if lane.thread:
                lane.thread.join()
        if not self._audio:
            raise AudioError("Nothing was heard: the microphone sent no audio before it stopped.")
        clip = from_array(np.concatenate(self._audio), SAMPLE_RATE,
                          name or f"{self.source}-{time.strftime('%Y%m%d-%H%M%S')}.wav")
        if clip.duration_s < 0.5:
            raise AudioError(f"Only {clip.duration_s:.2f} s was heard; record at least half a second.")
        results = [self._result(lane, clip, offline) for lane in self.lanes.values()]
        run_id = self._store(clip, results) if store_run else None
        return run_id, results

    def _result(self, lane: _Lane, clip: AudioClip, offline: bool) -> StreamResult:
        off = transcribe_one(clip, lane.model, self.reference, self.options, self.cache) if offline else None
        result = _ran_with(lane.model, lane.engine, self.options)
        line = lane.line
        line.duration_s = clip.duration_s
        if lane.error or lane.engine is None:
            result.error = lane.error
            return StreamResult(lane.model, result, off)
        _score(result, lane.engine, line, clip, self.reference)
        return StreamResult(lane.model, result, off, line, metrics(line), is_native(lane.engine))

    def _store(self, clip: AudioClip, results: list[StreamResult]) -> int:
        settings_ = _run_settings(self.model_ids, self.options, self.chunk_s, True, sequential=False,
                                  source=self.source)
        run_id = store.start_run("stream", settings_, clip_id=store.save_clip(clip), reference=self.reference)
        for r in results:
            store.add_result(run_id, r.row())
        _finish_run(run_id, results, len(self.model_ids))
        return run_id
