"""A stored streaming run: each model plays the clip as a live stream, scored beside its own offline result.

The run is kind `stream`; each result keeps its streaming metrics and the whole timeline (what was on
screen after every chunk, and when) in `extra["stream"]`, so History and the dashboard can replay it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

from lab import store
from lab.audio import AudioClip
from lab.engines.base import AsrOptions, Transcription, Word
from lab.errors import LabError, failure_message
from lab.loading import ModelCache, default_cache
from lab.metrics import rtfx
from lab.runner import ModelResult, fill_result, run_status, transcribe_one
from lab.streaming import StreamMetrics, Tick, Timeline, is_native, metrics, open_stream, play

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
    result = ModelResult(model_id, beam_size=options.beam_size)
    if off is not None and off.error:
        result.error = off.error
        return StreamResult(model_id, result, off)
    try:
        engine = cache.acquire(model_id).engine
        result.device, result.compute_type, result.threads = (
            engine.config.device, engine.config.compute_type, engine.config.threads)
        line = play(open_stream(engine, options), clip, chunk_s, realtime, on_tick)
    except LabError as e:
        result.error = str(e)
        return StreamResult(model_id, result, off)
    except Exception as e:  # the engine's own crash: this model's result, the others carry on
        result.error = failure_message(model_id, e, "streaming")
        return StreamResult(model_id, result, off)
    words = [Word(w.start, w.end, w.word) for w in line.words]
    m = metrics(line)
    result.latency_s = sum(t.compute_s for t in line.ticks)
    heard = Transcription(line.text, "en" if engine.spec.english_only else None, words=words)
    fill_result(result, heard, clip, reference)
    result.rtfx = rtfx(clip.duration_s, result.latency_s)
    return StreamResult(model_id, result, off, line, m, is_native(engine))


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
            settings = {"models": self.model_ids, "options": asdict(self.options), "chunk_ms": round(chunk_s * 1000),
                        "realtime": realtime, "sequential": True}
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
        status = run_status([not r.error for r in self.results], len(self.model_ids))
        store.finish_run(self.run_id, status, {"stream": [r.to_json() for r in self.results]})


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
