"""Synthesis runs: one text through several TTS models, stored, with an ASR round trip.

The round trip transcribes each output with an ASR model and scores it against the input text:
a cheap, repeatable intelligibility measure (not a substitute for listening).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lab import store
from lab.audio import from_array, to_wav_bytes
from lab.catalog import get_spec, models_for
from lab.engines import availability
from lab.engines.base import AsrOptions
from lab.errors import LabError, failure_message
from lab.loading import ModelCache, default_cache
from lab.runner import transcribe_one

MAX_TEXT_CHARS = 1000


@dataclass
class TtsResult:
    model: str
    voice: str | None
    samples: np.ndarray | None = None
    sample_rate: int | None = None
    latency_s: float | None = None
    first_audio_s: float | None = None
    load_s: float | None = None
    cached: bool | None = None
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    asr_model: str | None = None
    asr_text: str | None = None
    asr_wer: float | None = None
    asr_cer: float | None = None
    # the round trip's language and headline ("cer" for Japanese and Chinese, else "wer")
    asr_language: str | None = None
    asr_metric: str | None = None
    clip_id: int | None = None
    queue_s: float | None = None  # waiting for the model in a server's queue

    @property
    def duration_s(self) -> float | None:
        return len(self.samples) / self.sample_rate if self.samples is not None and self.sample_rate else None

    @property
    def rtf(self) -> float | None:
        d = self.duration_s
        return self.latency_s / d if d and self.latency_s is not None else None

    def wav_bytes(self) -> bytes:
        return to_wav_bytes(self.samples, self.sample_rate) if self.samples is not None else b""

    def to_json(self) -> dict:
        return {"model": self.model, "voice": self.voice, "duration_s": self.duration_s,
                "latency_s": self.latency_s, "rtf": self.rtf, "first_audio_s": self.first_audio_s,
                "load_s": self.load_s, "error": self.error, "flags": self.flags, "asr_model": self.asr_model,
                "asr_text": self.asr_text, "asr_wer": self.asr_wer, "asr_cer": self.asr_cer,
                "asr_language": self.asr_language, "asr_metric": self.asr_metric, "asr_score": self.asr_score}

    @property
    def asr_score(self) -> float | None:
        """The round trip's headline error rate: CER where words are not space-separated, else WER."""
        return self.asr_cer if self.asr_metric == "cer" else self.asr_wer


def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise LabError("nothing to say: the text is empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise LabError(f"text too long ({len(text)} characters); the limit is {MAX_TEXT_CHARS}.")
    return text


def voices(model_id: str, cache: ModelCache | None = None, load: bool = True) -> list[str]:
    """A TTS model's voices: from the engine class when it declares them (no load, so this works
    even without weights), else from the loaded model — or [] when `load` is False."""
    from lab.engines import engine_class

    spec = get_spec(model_id)
    if "tts" not in spec.tasks:
        raise LabError(f"{model_id} is not a TTS model.")
    declared = getattr(engine_class(spec), "VOICES", None)
    if declared:
        return list(declared)
    return list((cache or default_cache()).acquire(model_id).engine.voices()) if load else []


def check_voice(model_id: str, voice: str | None, cache: ModelCache | None = None) -> None:
    """Refuse a non-TTS model or an unknown voice before any work."""
    if "tts" not in get_spec(model_id).tasks:
        raise LabError(f"{model_id} is not a TTS model.")
    if voice is None:
        return
    known = voices(model_id, cache)
    if voice not in known:
        raise LabError(f"{model_id}: unknown voice '{voice}'; choose one of {', '.join(known)}.")


def synthesize_one(text: str, model_id: str, voice: str | None = None, cache: ModelCache | None = None,
                   asr_model: str | None = None) -> TtsResult:
    """Never raises for the model's own failure: the error is in the result."""
    cache = cache or default_cache()
    result = TtsResult(model_id, voice)
    try:
        if "tts" not in get_spec(model_id).tasks:
            raise LabError(f"{model_id} is not a TTS model.")
        loaded = cache.acquire(model_id)
        result.load_s, result.cached = loaded.load_s, loaded.cached
        voice = voice or next(iter(loaded.engine.voices()), None)  # report the voice actually used
        result.voice = voice
        start = time.perf_counter()
        out = loaded.engine.synthesize(text, voice)
        wall = time.perf_counter() - start
    except Exception as e:  # the engine's own crash or OOM, or a LabError saying what to fix
        result.error = failure_message(model_id, e, "synthesizing")
        return result
    result.samples, result.sample_rate = out.samples.astype(np.float32), out.sample_rate
    result.latency_s, result.first_audio_s, result.flags = out.inference_s or wall, out.first_audio_s, list(out.flags)
    if result.samples.size == 0:
        result.error = f"{model_id}: produced no audio."
    elif asr_model:
        _round_trip(result, text, asr_model, cache)
    return result


def round_trip_model(tts_model: str, asr_model: str) -> str:
    """The ASR model that listens to `tts_model`: `asr_model` when it knows the language spoken, else the first
    catalog ASR model that does and can run here (an English-only model cannot score Japanese speech)."""
    language = spoken_language(tts_model)
    if get_spec(asr_model).speaks(language):
        return asr_model
    for spec in models_for("asr"):
        if spec.speaks(language) and availability(spec.id).available:
            return spec.id
    return asr_model  # none here: the round trip runs and its score shows the mismatch


def _round_trip(result: TtsResult, text: str, asr_model: str, cache: ModelCache) -> None:
    clip = from_array(result.samples, result.sample_rate, f"{result.model}.wav")
    language = spoken_language(result.model)
    asr_model = round_trip_model(result.model, asr_model)
    r = transcribe_one(clip, asr_model, reference=text, options=AsrOptions(language=language), cache=cache,
                       reference_language=language)
    result.asr_model, result.asr_text, result.asr_wer, result.asr_cer = asr_model, r.text, r.wer, r.cer
    result.asr_language, result.asr_metric = language, r.headline_metric or "wer"
    if r.error:
        result.flags.append(f"round_trip_failed: {r.error}")


def spoken_language(model_id: str) -> str:
    """The language a TTS model speaks: its catalog language, English when it lists several."""
    languages = [lang for lang in get_spec(model_id).languages if lang != "multi"]
    return languages[0] if len(languages) == 1 else "en"


def synthesize_run(text: str, model_ids: list[str], voice: str | None = None, voices_by_model: dict | None = None,
                   asr_model: str | None = None, cache: ModelCache | None = None, store_run: bool = True,
                   queue_s: float | None = None):  # noqa: ANN201
    """Synthesize with each model in turn (yielding as each finishes) and store one run of kind 'tts'."""
    text = check_text(text)
    for m in model_ids:
        get_spec(m)
    run_id = None
    if store_run:
        settings = {"models": model_ids, "voice": voice, "voices": voices_by_model, "asr_model": asr_model,
                    "text": text}
        run_id = store.start_run("tts", settings, reference=text)
    failed = done = 0
    try:
        for m in model_ids:
            v = (voices_by_model or {}).get(m, voice)
            r = synthesize_one(text, m, v, cache, asr_model)
            r.queue_s = queue_s
            if run_id is not None:
                _store(run_id, text, r)
            failed += r.error is not None
            done += 1
            yield run_id, r
    finally:  # also when the caller stops reading early: the run is never left "running"
        if run_id is not None:
            complete = done == len(model_ids)
            store.finish_run(run_id, "failed" if failed == done and done else
                             "partial" if failed or not complete else "done")


def _store(run_id: int, text: str, r: TtsResult) -> None:
    if r.samples is not None and r.samples.size:
        r.clip_id = store.save_clip(from_array(r.samples, r.sample_rate, f"tts-{r.model}-{r.voice or 'default'}.wav"))
    store.add_result(run_id, {
        "model_id": r.model, "clip_id": r.clip_id, "text": r.asr_text, "wer": r.asr_wer, "latency_s": r.latency_s,
        "rtfx": (1 / r.rtf) if r.rtf else None, "load_s": r.load_s, "cached": r.cached, "error": r.error,
        "flags": r.flags, "queue_s": r.queue_s,
        "extra": {"voice": r.voice, "duration_s": r.duration_s, "rtf": r.rtf, "first_audio_s": r.first_audio_s,
                  "sample_rate": r.sample_rate, "asr_model": r.asr_model, "input_text": text},
    })
