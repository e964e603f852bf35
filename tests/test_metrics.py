"""Metrics: normalised WER/CER, alignment, corpus totals, bootstrap CIs, percentiles."""

from __future__ import annotations

import pytest

from lab.metrics import (
    align,
    base_language,
    bootstrap_ci,
    bootstrap_wer_ci,
    corpus_score,
    headline_metric,
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


def test_chinese_traditional_and_simplified_score_equal() -> None:
    trad, simp = "我們的國家很大，歷史也很長。", "我们的国家很大历史也很长"
    s = score(trad, simp, "zh")
    assert s.cer == 0.0 and s.headline_metric == "cer" and s.headline == 0.0
    assert score(simp, trad, "zh-TW").cer == 0.0  # both sides are folded, region subtags ignored
    assert score(trad, simp, "en").cer > 0  # without the Chinese rule they differ: the fold is what equates them
    one_wrong = score(trad, "我们的国家很小历史也很长", "zh")
    assert one_wrong.char_errors == 1 and one_wrong.cer == pytest.approx(1 / 12)


def test_japanese_is_headlined_by_cer_over_characters_without_spaces() -> None:
    s = score("今日はいい天気ですね。", "今日は いい天気です", "ja")
    # 10 reference characters, one deleted (ね); the space the model put in is not an error
    assert s.headline_metric == "cer" and s.ref_chars == 10 and s.char_errors == 1
    assert s.headline == s.cer == pytest.approx(0.1)
    assert s.wer is not None  # both metrics always computed
    assert score("Ever tried. Ever failed.", "ever tried ever failed", "es").headline_metric == "wer"


def test_punctuation_only_reference_gives_none_with_a_note() -> None:
    for lang in ("en", "es", "zh", None):
        s = score(" … ?! — ", "twenty two", lang)
        assert s.wer is None and s.cer is None and s.headline is None
        assert "empty after normalisation" in s.note
    assert corpus_score([score("...", "x", "en")]).wer is None


def test_nfkc_folds_compatibility_characters() -> None:
    # full-width Latin letters and digits, and the "ﬁ" ligature, are the same text after NFKC
    assert score("ｆｕｌｌ ｗｉｄｔｈ ﬁne", "full width fine", "de").wer == 0.0
    assert score("カタカナ１２３", "ｶﾀｶﾅ123", "ja").cer == 0.0  # half-width katakana
    assert score("full width", "ｆｕｌｌ ｗｉｄｔｈ", "en").wer == 0.0


def test_non_english_normaliser_keeps_combining_marks() -> None:
    # Whisper's basic normaliser turns Devanagari vowel signs into spaces; a wrong vowel sign must count
    assert score("नमस्ते दुनिया", "नमस्ते दुनिया", "hi").wer == 0.0
    assert score("नमस्ते दुनिया", "नमस्ता दुनिया", "hi").wer == 0.5


def test_unknown_reference_language_falls_back_and_says_so() -> None:
    s = score("Mr. Smith", "mister smith", "en", language_source="model")
    assert s.wer == 0.0 and s.language_source == "model" and "no reference language" in s.note
    assert score("Mr. Smith", "mister smith", "en").note is None
    assert score("a b", "a b", None).language is None and headline_metric(None) == "wer"
    assert base_language(" zh_TW ") == "zh" and base_language("en+es") is None


def test_cer_bootstrap_ci_contains_the_corpus_cer() -> None:
    scores = [score("今日はいい天気です", "今日はいい天気", "ja"), score("東京に行きます", "東京に行きます", "ja"),
              score("ありがとう", "ありがと", "ja")]
    c = corpus_score(scores)
    lo, hi = bootstrap_ci(scores, "cer")
    assert lo <= c.cer <= hi and c.cer == pytest.approx(3 / 21)


def test_paired_comparison_per_language_uses_each_languages_headline_metric() -> None:
    from lab.eval.evaluate import _paired_by_language
    from lab.metrics import score

    ja_ref, en_ref = "今日はいい天気ですね", "the cat sat on the mat"
    a = [score(ja_ref, "今日はいい天気ですね", "ja"), score(en_ref, "the cat sat on the mat", "en")]
    b = [score(ja_ref, "今日は悪い天気ですね", "ja"), score(en_ref, "the cat sat on a mat", "en")]
    out = _paired_by_language("A", "B", list(zip(a, b, strict=True)))
    assert out["ja"]["metric"] == "cer" and out["en"]["metric"] == "wer"
    # A is one character better in 10 (Japanese), one word better in 6 (English)
    assert out["ja"]["diff"] == pytest.approx(-b[0].char_errors / b[0].ref_chars)
    assert out["en"]["diff"] == pytest.approx(-1 / 6)
