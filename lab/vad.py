"""Voice activity detection side by side, and "VAD first": decode only the speech a VAD found.

Every number here is what the CLI, the dashboard and the tests show: speech segments, speech ratio,
frame agreement between two VADs, how many ASR words fall inside detected speech, and an ASR result
with and without the VAD in front of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from lab import store
from lab.audio import AudioClip
from lab.engines.base import AsrOptions, Segment, Word
from lab.errors import LabError, failure_message
from lab.loading import ModelCache, default_cache
from lab.runner import ModelResult, fill_result
from lab.store import ResultRecord

FRAME_S = 0.01  # resolution of the agreement measure
PAD_S = 0.2  # speech kept either side of each VAD segment when decoding VAD first


@dataclass
class VadResult:
    model: str
    segments: list[Segment]
    speech_ratio: float
    latency_s: float
    error: str | None = None

    def row(self) -> dict:
        """A result row (results table columns): the speech segments and, in extra, task `vad` and the ratio."""
        r = ModelResult(self.model, error=self.error, latency_s=self.latency_s)
        r.segments = [replace(s, text=s.text or "speech") for s in self.segments]
        row = r.row()
        row["extra"] = {**row["extra"], "task": "vad", "speech_ratio": self.speech_ratio}
        return row


def detect(clip: AudioClip, model_id: str, cache: ModelCache | None = None) -> VadResult:
    """One VAD over one clip; a failure becomes the result's error."""
    try:
        engine = (cache or default_cache()).acquire(model_id).engine
        start = time.perf_counter()
        segments = engine.detect(clip)
        latency = time.perf_counter() - start
    except LabError as e:
        return VadResult(model_id, [], 0.0, 0.0, str(e))
    except Exception as e:  # the detector's own crash
        return VadResult(model_id, [], 0.0, 0.0, failure_message(model_id, e, "detecting speech"))
    return VadResult(model_id, segments, speech_ratio(segments, clip.duration_s), latency)


def _mask(segments: list[Segment], duration_s: float) -> np.ndarray:
    mask = np.zeros(max(1, int(round(duration_s / FRAME_S))), dtype=bool)
    for s in segments:
        mask[int(s.start / FRAME_S):int(np.ceil(s.end / FRAME_S))] = True
    return mask


def speech_ratio(segments: list[Segment], duration_s: float) -> float:
    return float(_mask(segments, duration_s).mean()) if duration_s > 0 else 0.0


def agreement(a: list[Segment], b: list[Segment], duration_s: float) -> float:
    """Fraction of 10 ms frames on which two VADs agree (speech or not)."""
    return float((_mask(a, duration_s) == _mask(b, duration_s)).mean())


def words_in_speech(segments: list[Segment], words: list[Word]) -> float | None:
    """Fraction of ASR words whose middle lies in detected speech (None without words)."""
    if not words:
        return None
    inside = sum(1 for w in words if any(s.start <= (w.start + w.end) / 2 <= s.end for s in segments))
    return inside / len(words)


def speech_only(clip: AudioClip, segments: list[Segment], pad_s: float = PAD_S) -> tuple[AudioClip, list[tuple]]:
    """The clip's speech (padded) joined end to end, and the map (new start, original start, length) back."""
    spans, pieces, at = [], [], 0.0
    for s in segments:
        a, b = max(0.0, s.start - pad_s), min(clip.duration_s, s.end + pad_s)
        if spans and a <= spans[-1][1] + spans[-1][2]:  # overlaps the previous padded span: extend it
            prev = spans.pop()
            a = prev[1]
            at = prev[0]
            pieces.pop()
        i, j = int(a * clip.sample_rate), int(b * clip.sample_rate)
        pieces.append(clip.samples[i:j])
        spans.append((at, a, (j - i) / clip.sample_rate))
        at += (j - i) / clip.sample_rate
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return replace(clip, samples=samples.astype(np.float32), data=b""), spans


def _back(t: float, spans: list[tuple]) -> float:
    for new, orig, length in reversed(spans):
        if t >= new:
            return orig + min(t - new, length)
    return t


def transcribe_vad_first(clip: AudioClip, model_id: str, vad_id: str, reference: str | None = None,
                         options: AsrOptions | None = None, cache: ModelCache | None = None,
                         compute_type: str | None = None) -> ModelResult:
    """Decode only what `vad_id` calls speech; no speech, no decoding. Latency includes the VAD; times map back.
    `compute_type`: the precision the plain run used, so the two sit like for like."""
    cache = cache or default_cache()
    vad = detect(clip, vad_id, cache)
    result = ModelResult(model_id)
    if vad.error:
        result.error = vad.error
        return result
    try:
        engine = cache.acquire(model_id, compute_type=compute_type).engine
        result.device, result.compute_type, result.threads = (
            engine.config.device, engine.config.compute_type, engine.config.threads)
        speech, spans = speech_only(clip, vad.segments)
        start = time.perf_counter()
        if speech.duration_s >= 0.1:
            t = engine.transcribe(speech, options or AsrOptions())
        else:
            from lab.engines.base import Transcription

            t = Transcription("", "en" if engine.spec.english_only else None)
        result.latency_s = vad.latency_s + time.perf_counter() - start
    except LabError as e:
        result.error = str(e)
        return result
    except Exception as e:
        result.error = failure_message(model_id, e, "transcribing VAD first")
        return result
    t.words = [replace(w, start=_back(w.start, spans), end=_back(w.end, spans)) for w in t.words]
    t.segments = [replace(s, start=_back(s.start, spans), end=_back(s.end, spans)) for s in t.segments]
    return fill_result(result, t, clip, reference)


def detect_into_run(run_id: int | None, clip: AudioClip, model_id: str, cache: ModelCache | None = None) -> dict:
    """Detect speech and store it as one result of the run (VAD rows sit beside the ASR ones); returns the row."""
    row = detect(clip, model_id, cache).row()
    if run_id is not None:
        store.add_result(run_id, row)
    return row


def is_vad(row: ResultRecord) -> bool:
    return (row.extra or {}).get("task") == "vad"


def summary_rows(rows: Sequence[ResultRecord], duration_s: float) -> list[dict]:
    """Per VAD result of a run: speech ratio, latency, frame agreement with each other VAD, and the share of
    each ASR model's words that fall inside its speech."""
    vads = [r for r in rows if is_vad(r) and not r.error]
    asr = [r for r in rows if not is_vad(r) and not r.error and r.words]
    segs = {r.model_id: [Segment(**s) for s in r.segments] for r in vads}
    out = []
    for r in vads:
        line: dict = {"VAD": r.model_id, "Speech (%)": round(100 * speech_ratio(segs[r.model_id], duration_s), 1),
                      "Segments": len(r.segments), "Latency (s)": r.latency_s}
        for o in vads:
            if o.model_id != r.model_id:
                line[f"Agrees with {o.model_id} (%)"] = round(
                    100 * agreement(segs[r.model_id], segs[o.model_id], duration_s), 1)
        for a in asr:
            inside = words_in_speech(segs[r.model_id], [Word(**w) for w in a.words])
            label = a.label or a.model_id  # the same model VAD first has its own column
            line[f"{label} words in speech (%)"] = None if inside is None else round(100 * inside, 1)
        out.append(line)
    return out


def vad_first_label(model_id: str, vad_id: str) -> str:
    """The card label of a model decoding VAD first, beside the plain model's own card."""
    return f"{model_id}@vad={vad_id}"


def vad_first_into_run(run_id: int | None, clip: AudioClip, model_id: str, vad_id: str,
                       reference: str | None = None, options: AsrOptions | None = None,
                       cache: ModelCache | None = None, compute_type: str | None = None) -> dict:
    """`transcribe_vad_first` stored as one result of the run (label `model@vad=VAD`); returns the row."""
    r = transcribe_vad_first(clip, model_id, vad_id, reference, options, cache, compute_type)
    r.label = vad_first_label(model_id, vad_id)
    if options is not None:
        r.beam_size = options.beam_size
    row = r.row()
    row["extra"] = {**row["extra"], "vad_first": vad_id}
    if run_id is not None:
        store.add_result(run_id, row)
    return row


def report(clip: AudioClip, model_ids: Sequence[str], cache: ModelCache | None = None) -> dict:
    """What `lab vad --json` prints: each VAD's segments, speech ratio and latency, and pairwise agreement."""
    found = [detect(clip, m, cache) for m in model_ids]
    ok = [v for v in found if not v.error]
    return {
        "duration_s": clip.duration_s,
        "results": [{"model": v.model, "speech_ratio": v.speech_ratio, "latency_s": v.latency_s,
                     "segments": [{"start": s.start, "end": s.end} for s in v.segments], "error": v.error}
                    for v in found],
        "agreement": [{"a": a.model, "b": b.model, "agreement": agreement(a.segments, b.segments, clip.duration_s)}
                      for i, a in enumerate(ok) for b in ok[i + 1:]],
    }
