"""Error rates, alignments, speed and their uncertainty.

Scoring is language-aware. The REFERENCE's language (the manifest's, not the one a model detected)
chooses the normaliser and the headline metric:

- every text is Unicode NFKC-folded first; Chinese (zh, yue) is folded to simplified characters
  with OpenCC on both sides, so traditional vs simplified never counts as an error;
- English uses Whisper's English normaliser ("Mr." vs "mister", punctuation, spelling); every other
  language Whisper's basic normaliser (lower case, no punctuation or symbols), except that combining
  marks are kept: Whisper's turns them into spaces, which splits Thai, Hindi and other abugida words;
- languages written without spaces (zh, ja, ko, th, lo, my, km, yue) are headlined by CER, counted
  over characters with whitespace removed; all others by WER. Both are always computed.

Without a known reference language the caller's fallback (the model's or detected language) picks the
normaliser, as before, and `Score.language_source` says so. The raw (un-normalised) figures are kept
beside the normalised ones. Corpus WER sums errors over all words rather than averaging clip WERs, and
its uncertainty comes from a bootstrap over clips.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import jiwer
import numpy as np

BOOTSTRAP_SAMPLES = 2000
# written without spaces between words: CER is the meaningful headline
CER_LANGUAGES = frozenset({"zh", "ja", "ko", "th", "lo", "my", "km", "yue"})
CHINESE = frozenset({"zh", "yue"})
EMPTY_REFERENCE_NOTE = "reference is empty after normalisation (punctuation only?); not scored"


def base_language(language: str | None) -> str | None:
    """'zh-TW' / 'en_US' / ' EN ' → 'zh' / 'en' / 'en'; None for no or several languages ('en+es')."""
    lang = (language or "").strip().lower().replace("_", "-")
    if not lang or "+" in lang or "," in lang:
        return None
    return lang.split("-")[0] or None


def headline_metric(language: str | None) -> str:
    """'cer' for languages written without spaces, 'wer' otherwise (and when unknown)."""
    return "cer" if base_language(language) in CER_LANGUAGES else "wer"


def _basic(s: str) -> str:
    """Whisper's BasicTextNormalizer, keeping combining marks (category M) instead of spacing them."""
    s = s.lower()
    s = re.sub(r"[<\[][^>\]]*[>\]]", "", s)
    s = re.sub(r"\(([^)]+?)\)", "", s)
    return "".join(" " if unicodedata.category(c)[0] in "SP" else c for c in unicodedata.normalize("NFKC", s))


@cache
def _to_simplified() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


@cache
def normalizer(language: str | None = "en") -> Callable[[str], str]:
    # whisper.normalizers pulls in torch through whisper/__init__; import only when scoring
    from whisper.normalizers import EnglishTextNormalizer

    lang = base_language(language)
    if lang in (None, "en"):
        return EnglishTextNormalizer()
    return _basic


def normalize(text: str, language: str | None = "en") -> str:
    """NFKC, simplified Chinese for zh/yue, then the language's normaliser; whitespace collapsed. Tokens
    with no letter or digit (a "." the English normaliser leaves from "...") are not words and are dropped."""
    text = unicodedata.normalize("NFKC", text or "")
    if base_language(language) in CHINESE:
        text = _to_simplified()(text)
    return " ".join(w for w in normalizer(language)(text).split() if any(c.isalnum() for c in w))


@dataclass(frozen=True)
class DiffOp:
    """One step of the word alignment: equal, substitute, delete (ref only) or insert (hyp only)."""

    kind: str
    ref: str
    hyp: str


@dataclass(frozen=True)
class Score:
    """One clip's score. `headline` is the figure to decide on: CER for languages written without spaces."""

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
    language: str | None = None  # the language whose rules scored it
    language_source: str = "reference"  # "reference", or the fallback's: "model", "detected", "default"
    headline_metric: str = "wer"
    note: str | None = None

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def headline(self) -> float | None:
        return self.cer if self.headline_metric == "cer" else self.wer


def score(reference: str, hypothesis: str, language: str | None = "en", language_source: str = "reference") -> Score:
    """WER and CER of one hypothesis under `language`'s rules; all None (with a note) when the normalised
    reference is empty. `language_source` records where the language came from ("reference" when it is
    the reference's own; anything else marks a fallback)."""
    lang = base_language(language)
    metric = headline_metric(lang)
    ref, hyp = normalize(reference, lang), normalize(hypothesis, lang)
    if not ref:
        return Score(None, None, None, None, 0, 0, 0, 0, 0, 0, 0, lang, language_source, metric, EMPTY_REFERENCE_NOTE)
    words = jiwer.process_words(ref, hyp)
    if metric == "cer":  # no word boundaries: spaces a model or the normaliser put in are not characters
        ref_c, hyp_c = "".join(ref.split()), "".join(hyp.split())
    else:
        ref_c, hyp_c = ref, hyp
    chars = jiwer.process_characters(ref_c, hyp_c)
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    raw_ref, raw_hyp = " ".join(reference.split()), " ".join((hypothesis or "").split())
    note = None if language_source == "reference" else f"no reference language; scored as '{lang}' ({language_source})"
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
        ref_chars=len(ref_c),
        char_errors=char_errors,
        language=lang,
        language_source=language_source,
        headline_metric=metric,
        note=note,
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


def bootstrap_ci(scores: Sequence[Score], metric: str = "wer", samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap CI of corpus WER or CER, resampling clips with replacement."""
    used = [s for s in scores if s.wer is not None]
    if not used:
        return None
    if metric == "cer":
        err = np.array([s.char_errors for s in used], dtype=float)
        n = np.array([s.ref_chars for s in used], dtype=float)
    else:
        err = np.array([s.errors for s in used], dtype=float)
        n = np.array([s.ref_words for s in used], dtype=float)
    idx = _resample_idx(len(used), samples, seed)
    rates = err[idx].sum(1) / np.maximum(n[idx].sum(1), 1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(rates, tail)), float(np.percentile(rates, 100 - tail))


def bootstrap_wer_ci(scores: Sequence[Score], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap CI of corpus WER, resampling clips with replacement."""
    return bootstrap_ci(scores, "wer", samples, seed, level)


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
                    seed: int = 0, level: float = 0.95, metric: str = "wer") -> PairedDiff | None:
    """Paired bootstrap: the same resampled clips for both models, so clip difficulty cancels out.
    `metric`: corpus WER (word errors) or CER (character errors) difference."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x.wer is not None and y.wer is not None]
    if not pairs:
        return None
    cer = metric == "cer"
    ea = np.array([x.char_errors if cer else x.errors for x, _ in pairs], dtype=float)
    eb = np.array([y.char_errors if cer else y.errors for _, y in pairs], dtype=float)
    n = np.array([x.ref_chars if cer else x.ref_words for x, _ in pairs], dtype=float)
    idx = _resample_idx(len(pairs), samples, seed)
    words = np.maximum(n[idx].sum(1), 1)
    diffs = (ea[idx].sum(1) - eb[idx].sum(1)) / words
    tail = (1 - level) / 2 * 100
    point = (ea.sum() - eb.sum()) / max(n.sum(), 1)
    return PairedDiff(float(point), float(np.percentile(diffs, tail)), float(np.percentile(diffs, 100 - tail)))
