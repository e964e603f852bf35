"""Run one clip through N models, yielding each result as it completes.

Sequential by default so models do not compete for the CPU and timings stay fair. A model that
fails to load, crashes or runs out of memory becomes an error result; the others carry on, and
every result is stored the moment it exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from lab import store
from lab.audio import SAMPLE_RATE, AudioClip, load_audio
from lab.catalog import get_spec
from lab.engines.base import AsrEngine, AsrOptions, Segment, Transcription, Word
from lab.errors import AudioError, LabError, failure_message
from lab.flags import flags_for
from lab.loading import ModelCache, default_cache
from lab.metrics import Score, base_language, rtfx, score
from lab.plan import PlannedModel, plan_comparison, plan_json

WARMUP_S = 2.0  # length of the warm-up slice run once after a fresh load, excluded from latency
WARMUP_SPEECH = Path(__file__).resolve().parents[1] / "data" / "samples" / "harvard_01.flac"
WARMUP_TOKENS = 8  # the warm-up only pays for lazy init: a few tokens, not a hallucinated 30 s window

Progress = Callable[[str], None]  # told what a slow first use is doing: "loading…", "warming up…"


@dataclass
class ModelResult:
    model: str
    text: str | None = None
    language: str | None = None
    wer: float | None = None
    cer: float | None = None
    latency_s: float | None = None
    rtfx: float | None = None
    load_s: float | None = None
    cached: bool | None = None
    warmup_s: float | None = None
    error: str | None = None
    device: str | None = None
    compute_type: str | None = None
    beam_size: int | None = None
    threads: int | None = None
    language_probability: float | None = None
    score_language: str | None = None
    headline_metric: str | None = None
    queue_s: float | None = None
    flags: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    score: Score | None = None
    skipped: str | None = None  # why this model was not run on the clip (e.g. a language it does not support)
    label: str | None = None  # the variant as planned (`model@int8,beam=1`); the model id when nothing was pinned

    def __post_init__(self) -> None:
        self.label = self.label or self.model

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None

    def to_json(self) -> dict:
        """The CLI/API contract: model, text, wer, cer, latency_s, rtfx, load_s, error (+ extras);
        the keys are `store.RESULT_JSON_KEYS`, the attributes of the same names."""
        return {k: getattr(self, k) for k in store.RESULT_JSON_KEYS}

    def row(self) -> dict:
        """Fields for the results table (`store.RESULT_COLUMNS`)."""
        s = self.score
        values = {f.column: getattr(self, f.json) for f in store.RESULT_FIELDS if f.json}
        values.update({
            "raw_wer": s.raw_wer if s else None, "raw_cer": s.raw_cer if s else None,
            "segments": [asdict(x) for x in self.segments], "words": [asdict(x) for x in self.words],
            "extra": ({"substitutions": s.substitutions, "deletions": s.deletions, "insertions": s.insertions,
                       "hits": s.hits, "ref_words": s.ref_words, **({"note": s.note} if s.note else {})}
                      if s else {}),
        })
        return {c: values[c] for c in store.RESULT_COLUMNS}


def transcribe_one(clip: AudioClip, model_id: str, reference: str | None = None,
                   options: AsrOptions | None = None, cache: ModelCache | None = None,
                   device: str | None = None, compute_type: str | None = None, warmup: bool = True,
                   reference_language: str | None = None, progress: Progress | None = None) -> ModelResult:
    """Load (or reuse) one model and transcribe one clip; never raises for a model's own failure.

    `progress` hears each slow step as it starts (converting weights, loading, warming up, transcribing).

    `reference_language` (the reference's own language, e.g. a manifest's) chooses how the clip is scored;
    without it the model's language (English-only models) or the detected one is used, and the score says so."""
    options = options or AsrOptions()
    cache = cache or default_cache()
    say = progress or (lambda _stage: None)
    try:
        loaded = cache.acquire(model_id, device=device, compute_type=compute_type, progress=say)
    except LabError as e:
        return ModelResult(model_id, error=str(e))
    engine = loaded.engine
    result = ModelResult(model_id, load_s=loaded.load_s, cached=loaded.cached,
                         device=engine.config.device, compute_type=engine.config.compute_type,
                         beam_size=options.beam_size, threads=engine.config.threads)
    try:
        if warmup:
            result.warmup_s = _warm_once(engine, cache, clip, options, say)
        say("transcribing…")
        start = time.perf_counter()
        t = engine.transcribe(clip, options)
        result.latency_s = time.perf_counter() - start
    except Exception as e:  # the engine's own crash or OOM: this model's result, the others carry on
        result.error = failure_message(model_id, e, f"transcribing on {engine.config.device}")
        return result
    return fill_result(result, t, clip, reference, reference_language)


def ready_engine(model_id: str, options: AsrOptions, cache: ModelCache, progress: Progress | None = None) -> AsrEngine:
    """Load and warm one model before a clock starts (a live stream): the first chunk pays neither.
    Raises `LabError` when the model cannot be had."""
    say = progress or (lambda _stage: None)
    engine = cache.acquire(model_id, progress=say).engine
    _warm_once(engine, cache, _warm_up_clip(), options, say)
    return engine


def _warm_once(engine: AsrEngine, cache: ModelCache, clip: AudioClip, options: AsrOptions,
               say: Progress) -> float | None:
    """The warm-up call, once per load of `engine` (the cache remembers); its seconds, None when already warm."""
    if cache.is_warm(engine):
        return None
    say("warming up…")
    seconds = _warm_up(engine, clip, options)
    cache.mark_warm(engine)
    return seconds


@lru_cache(maxsize=1)  # decoded once per process
def _warm_up_clip() -> AudioClip:
    """Speech from the project's own samples: warming on digital silence skews engines that adapt as they
    listen (PocketSphinx's cepstral mean drifts and its next utterance suffers); quiet noise where absent."""
    try:
        return load_audio(WARMUP_SPEECH)
    except AudioError:
        noise = np.random.default_rng(0).normal(0, 0.01, int(WARMUP_S * SAMPLE_RATE)).astype(np.float32)
        return AudioClip(noise, SAMPLE_RATE, "warm-up", "", 1, SAMPLE_RATE)


def _warm_up(engine, clip: AudioClip, options: AsrOptions) -> float:  # noqa: ANN001
    """First call after a load pays for lazy init (kernels, caches); run it on a slice, report it apart.
    Capped at a few tokens, since a decoder that pads the slice to a 30 s window could otherwise ramble."""
    n = int(min(clip.duration_s, WARMUP_S) * clip.sample_rate)
    piece = replace(clip, samples=clip.samples[:n], data=b"")
    short = replace(options, max_new_tokens=min(options.max_new_tokens or WARMUP_TOKENS, WARMUP_TOKENS),
                    word_timestamps=False)
    start = time.perf_counter()
    engine.transcribe(piece, short)
    return time.perf_counter() - start


def fill_result(result: ModelResult, t: Transcription, clip: AudioClip, reference: str | None,
                reference_language: str | None = None) -> ModelResult:
    """A transcription into the result: text, language, words, flags, RTFx, and its score against `reference`."""
    result.text, result.language, result.language_probability = t.text, t.language, t.language_probability
    result.segments, result.words = t.segments, t.words
    result.flags = flags_for(t.text, clip.samples, t.flags)
    result.rtfx = rtfx(clip.duration_s, result.latency_s or 0.0)
    if reference and reference.strip():
        if base_language(reference_language):
            result.score = score(reference, t.text, reference_language, "reference")
        else:  # fallback, as before: the model's only language, else the detected one
            spec = get_spec(result.model)
            lang, source = ("en", "model") if spec.english_only else (
                (t.language, "detected") if t.language else ("en", "default"))
            result.score = score(reference, t.text, lang, source)
        result.wer, result.cer = result.score.wer, result.score.cer
        result.score_language, result.headline_metric = result.score.language, result.score.headline_metric
    return result


class Comparison:
    """One stored run of one clip through several models. The run row exists before any model runs.

    `model_ids` may name variants (`faster-whisper:tiny.en@int8,beam=1`, see lab.plan); every model runs at
    one compute type and one beam size (`compute_type`, `options.beam_size`) unless its variant pins one."""

    def __init__(self, clip: AudioClip, model_ids: Sequence[str], reference: str | None = None,
                 options: AsrOptions | None = None, kind: str = "compare", cache: ModelCache | None = None,
                 device: str | None = None, compute_type: str | None = None, store_run: bool = True,
                 reference_language: str | None = None, uploader: str | None = None) -> None:
        """`uploader`: who brought the clip (an API key's name); default the `user` setting."""
        self.clip, self.reference, self.reference_language = clip, reference, reference_language
        self.options = options or AsrOptions()
        self.cache = cache or default_cache()
        self.device, self.compute_type = device, compute_type
        self.plan, self.refused = _lenient_plan(model_ids, compute_type, self.options.beam_size, device)
        self.model_ids = [p.label for p in self.plan]
        self.results: list[ModelResult] = []
        self.run_id: int | None = None
        if store_run:
            settings = {"models": self.model_ids, "options": asdict(self.options), "device": device,
                        "compute_type": compute_type, "sequential": True, "plan": plan_json(self.plan),
                        "reference_language": reference_language}
            clip_id = store.save_clip(clip, uploader)
            self.run_id = store.start_run(kind, settings, clip_id=clip_id, reference=reference)

    def run_model(self, label: str, progress: Progress | None = None, queue_s: float | None = None
                  ) -> ModelResult:
        """Run one planned model (by its label, as in `model_ids`; a plain id not in the plan runs at the
        comparison's settings). `queue_s`: how long a server's request waited for the model,
        stored apart from latency."""
        if label in self.refused:  # an unknown model or unreadable variant: its own error result
            result = ModelResult(label, error=self.refused[label], label=label)
        else:
            planned = next((p for p in self.plan if p.label == label), None) or plan_comparison(
                [label], self.compute_type, self.options.beam_size, self.device)[0]
            options = replace(self.options, beam_size=planned.beam_size)
            result = transcribe_one(self.clip, planned.model, self.reference, options, self.cache, planned.device,
                                    planned.compute_type, reference_language=self.reference_language,
                                    progress=progress)
            result.label = planned.label
            result.queue_s = queue_s
        self.results.append(result)
        if self.run_id is not None:
            store.add_result(self.run_id, result.row())
        return result

    def __iter__(self) -> Iterator[ModelResult]:
        try:
            for model_id in self.model_ids:
                yield self.run_model(model_id)
        finally:
            self.finish()

    def finish(self) -> None:
        if self.run_id is None:
            return
        store.finish_run(self.run_id, run_status([r.ok for r in self.results], len(self.model_ids)))


def run_status(ok: Sequence[bool], expected: int) -> str:
    """A finished run's status from its results: failed (none ran), partial (some failed or never ran), done."""
    failed = sum(1 for x in ok if not x)
    return "failed" if failed == len(ok) else ("partial" if failed or len(ok) < expected else "done")


def _lenient_plan(model_ids: Sequence[str], compute_type: str | None, beam_size: int, device: str | None
                  ) -> tuple[list[PlannedModel], dict[str, str]]:
    """The plan, where a model that cannot be planned keeps its place and its error (the others still run)."""
    plan: dict[str, PlannedModel] = {}
    refused: dict[str, str] = {}
    for text in model_ids:
        try:
            planned = plan_comparison([text], compute_type, beam_size, device)[0]
        except LabError as e:
            planned = PlannedModel(text, text, device or "", compute_type or "", beam_size)
            refused[text] = str(e)
        plan.setdefault(planned.label, planned)
    return list(plan.values()), refused


def compare(clip: AudioClip, model_ids: Sequence[str], reference: str | None = None, **kwargs) -> Comparison:
    """Run every model to completion and return the finished comparison."""
    comparison = Comparison(clip, model_ids, reference, **kwargs)
    for _ in comparison:
        pass
    return comparison
