"""Error rates, alignments, speed and their uncertainty.

WER/CER are computed by jiwer after Whisper's English normaliser (Whisper's basic normaliser for
other languages), so "Mr." vs "mister" or punctuation never counts as an error; the raw
(un-normalised) figures are kept beside them. Corpus WER sums errors over all words rather than
averaging clip WERs, and its uncertainty comes from a bootstrap over clips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import jiwer
import numpy as np

BOOTSTRAP_SAMPLES = 2000


@cache
def normalizer(language: str | None = "en") -> Callable[[str], str]:
    # whisper.normalizers pulls in torch through whisper/__init__; import only when scoring
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    if language in (None, "", "en") or (language or "").startswith("en"):
        return EnglishTextNormalizer()
    return BasicTextNormalizer()


def normalize(text: str, language: str | None = "en") -> str:
    return " ".join(normalizer(language)(text or "").split())


@dataclass(frozen=True)
class DiffOp:
    """One step of the word alignment: equal, substitute, delete (ref only) or insert (hyp only)."""

    kind: str
    ref: str
    hyp: str


@dataclass(frozen=True)
class Score:
    wer: float | None
    cer: float | None
    raw_wer: float | None
    raw_cer: float | None
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    ref_chars: int
    char_errors: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def score(reference: str, hypothesis: str, language: str | None = "en") -> Score:
    """WER and CER of one hypothesis; all None when the normalised reference is empty."""
    ref, hyp = normalize(reference, language), normalize(hypothesis, language)
    if not ref:
        return Score(None, None, None, None, 0, 0, 0, 0, 0, 0, 0)
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    raw_ref, raw_hyp = " ".join(reference.split()), " ".join((hypothesis or "").split())
    return Score(
        wer=words.wer,
        cer=chars.cer,
        raw_wer=jiwer.wer(raw_ref, raw_hyp),
        raw_cer=jiwer.cer(raw_ref, raw_hyp),
        hits=words.hits,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        ref_words=len(ref.split()),
        ref_chars=len(ref),
        char_errors=char_errors,
    )


def align(reference: str, hypothesis: str, language: str | None = "en") -> list[DiffOp]:
    """Word alignment of the normalised texts, for diff rendering."""
    ref, hyp = normalize(reference, language), normalize(hypothesis, language)
    if not ref:
        return [DiffOp("insert", "", w) for w in hyp.split()]
    out = jiwer.process_words(ref, hyp)
    r, h = out.references[0], out.hypotheses[0]
    ops: list[DiffOp] = []
    for chunk in out.alignments[0]:
        rs, hs = r[chunk.ref_start_idx:chunk.ref_end_idx], h[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type == "equal":
            ops += [DiffOp("equal", a, b) for a, b in zip(rs, hs, strict=True)]
        elif chunk.type == "substitute":
            ops += [DiffOp("substitute", a, b) for a, b in zip(rs, hs, strict=True)]
        elif chunk.type == "delete":
            ops += [DiffOp("delete", a, "") for a in rs]
        else:
            ops += [DiffOp("insert", "", b) for b in hs]
    return ops


@dataclass(frozen=True)
class CorpusScore:
    wer: float | None
    cer: float | None
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    clips: int


def corpus_score(scores: Sequence[Score]) -> CorpusScore:
    """Corpus WER = total word errors / total reference words (clips without a reference skipped)."""
    used = [s for s in scores if s.wer is not None]
    n_words = sum(s.ref_words for s in used)
    n_chars = sum(s.ref_chars for s in used)
    subs, dels, ins = (sum(getattr(s, f) for s in used) for f in ("substitutions", "deletions", "insertions"))
    return CorpusScore(
        wer=(subs + dels + ins) / n_words if n_words else None,
        cer=sum(s.char_errors for s in used) / n_chars if n_chars else None,
        substitutions=subs,
        deletions=dels,
        insertions=ins,
        ref_words=n_words,
        clips=len(used),
    )


def rtfx(audio_s: float, inference_s: float) -> float | None:
    """Inverse real-time factor: seconds of audio processed per second of compute."""
    return audio_s / inference_s if inference_s > 0 else None


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95, 99)) -> dict[str, float | None]:
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return {f"p{q}": (float(np.percentile(arr, q)) if arr.size else None) for q in qs}


def _resample_idx(n: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


def bootstrap_wer_ci(scores: Sequence[Score], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap CI of corpus WER, resampling clips with replacement."""
    used = [s for s in scores if s.wer is not None]
    if not used:
        return None
    err = np.array([s.errors for s in used], dtype=float)
    n = np.array([s.ref_words for s in used], dtype=float)
    idx = _resample_idx(len(used), samples, seed)
    wers = err[idx].sum(1) / np.maximum(n[idx].sum(1), 1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(wers, tail)), float(np.percentile(wers, 100 - tail))


@dataclass(frozen=True)
class PairedDiff:
    """Corpus WER of A minus B on the same clips, with its bootstrap CI."""

    diff: float
    lo: float
    hi: float

    @property
    def verdict(self) -> str:
        if self.hi < 0:
            return "A is better than B"
        if self.lo > 0:
            return "B is better than A"
        return "no significant difference"


def paired_wer_diff(a: Sequence[Score], b: Sequence[Score], samples: int = BOOTSTRAP_SAMPLES,
                    seed: int = 0, level: float = 0.95) -> PairedDiff | None:
    """Paired bootstrap: the same resampled clips for both models, so clip difficulty cancels out."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x.wer is not None and y.wer is not None]
    if not pairs:
        return None
    ea = np.array([x.errors for x, _ in pairs], dtype=float)
    eb = np.array([y.errors for _, y in pairs], dtype=float)
    n = np.array([x.ref_words for x, _ in pairs], dtype=float)
    idx = _resample_idx(len(pairs), samples, seed)
    words = np.maximum(n[idx].sum(1), 1)
    diffs = (ea[idx].sum(1) - eb[idx].sum(1)) / words
    tail = (1 - level) / 2 * 100
    point = (ea.sum() - eb.sum()) / max(n.sum(), 1)
    return PairedDiff(float(point), float(np.percentile(diffs, tail)), float(np.percentile(diffs, 100 - tail)))
