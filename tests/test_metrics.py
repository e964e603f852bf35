"""Metrics: normalised WER/CER, alignment, corpus totals, bootstrap CIs, percentiles."""

from __future__ import annotations

import pytest

from lab.metrics import (
    align,
    bootstrap_wer_ci,
    corpus_score,
    normalize,
    paired_wer_diff,
    percentiles,
    rtfx,
    score,
)

WORDS = ["apple", "bread", "cheese", "dates", "eggs", "figs", "grapes", "honey", "ice", "jam"]


def test_normaliser_ignores_case_punctuation_and_spelling() -> None:
    s = score("Mr. Smith paid twenty dollars, colour!", "mister smith paid $20 color")
    assert s.wer == 0.0 and s.cer == 0.0
    assert s.raw_wer is not None and s.raw_wer > 0.5  # the raw figure keeps what normalisation forgave


def test_wer_counts_substitutions_deletions_insertions() -> None:
    s = score("the cat sat on the mat", "well the bat sat on mat")
    assert (s.substitutions, s.deletions, s.insertions) == (1, 1, 1)
    assert s.wer == pytest.approx(3 / 6)
    assert s.ref_words == 6 and s.hits == 4


def test_empty_hypothesis_is_all_deletions_and_empty_reference_is_unscored() -> None:
    s = score("ask not what your country can do", "")
    assert s.wer == 1.0 and s.deletions == 7
    assert score("", "anything").wer is None
    assert score(",!? -", "anything").wer is None  # nothing left after normalisation


def test_non_english_uses_basic_normaliser() -> None:
    assert normalize("Über die Brücke, bitte!", "de") == "über die brücke bitte"
    assert score("Über die Brücke", "über die brücke", "de").wer == 0.0


def test_alignment_marks_each_kind() -> None:
    ops = align("the cat sat on the mat", "well the bat sat on mat")
    kinds = [o.kind for o in ops]
    assert kinds.count("substitute") == 1 and kinds.count("delete") == 1 and kinds.count("insert") == 1
    assert ("cat", "bat") in [(o.ref, o.hyp) for o in ops if o.kind == "substitute"]
    assert [o.ref for o in ops if o.kind != "insert"] == ["the", "cat", "sat", "on", "the", "mat"]


def test_corpus_wer_weights_by_words_not_clips() -> None:
    a = score(" ".join(WORDS), " ".join(WORDS[:-1]))
    b = score("hello", "goodbye")
    c = corpus_score([a, b, score("", "x")])
    assert c.wer == pytest.approx(2 / 11)  # not the mean of 0.1 and 1.0
    assert (c.substitutions, c.deletions, c.insertions, c.ref_words, c.clips) == (1, 1, 0, 11, 2)


def _scores(errors: list[int]) -> list:
    ref = " ".join(WORDS)
    out = []
    for e in errors:
        hyp = " ".join("zebra" if i < e else w for i, w in enumerate(WORDS))
        out.append(score(ref, hyp))
    return out


def test_bootstrap_ci_contains_point_and_is_deterministic() -> None:
    s = _scores([0, 1, 2, 3, 1, 0, 2, 5, 1, 1])
    point = corpus_score(s).wer
    lo, hi = bootstrap_wer_ci(s)
    assert lo <= point <= hi and hi - lo > 0
    assert bootstrap_wer_ci(s) == (lo, hi)
    assert bootstrap_wer_ci(_scores([0] * 10)) == (0.0, 0.0)


def test_paired_difference_detects_a_consistently_better_model() -> None:
    good, bad = _scores([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), _scores([3, 4, 3, 4, 3, 4, 3, 4, 3, 4])
    d = paired_wer_diff(good, bad)
    assert d.diff == pytest.approx(-0.3) and d.hi < 0 and d.verdict == "A is better than B"
    same = paired_wer_diff(good, list(good))
    assert same.diff == 0 and same.verdict == "no significant difference"


def test_percentiles_and_rtfx() -> None:
    p = percentiles([float(i) for i in range(1, 101)])
    assert p["p50"] == pytest.approx(50.5) and p["p95"] == pytest.approx(95.05) and p["p99"] == pytest.approx(99.01)
    assert percentiles([])["p50"] is None
    assert rtfx(10.0, 0.5) == 20.0 and rtfx(10.0, 0.0) is None
