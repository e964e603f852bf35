"""Language-aware evaluation on real recordings: English, Spanish and Swedish clips, an English-only
model that must skip what it cannot transcribe, and a multilingual one scored per language."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lab.catalog import get_spec
from lab.eval.evaluate import DatasetRow, evaluate, unsupported_reason
from lab.serve.cli import _print_eval
from tests.conftest import run_lab as lab
from tests.conftest import shared

TINY, BASE = "faster-whisper:tiny.en", "faster-whisper:base"
CLIPS = {"manifest.csv": ["jfk.flac"],
         "extra.csv": ["mls_es_13697.opus", "nst_sv_u0016002.wav", "common_voice_en_22058266.mp3"]}


def _combined(path: Path, clips: dict[str, list[str]] = CLIPS) -> Path:
    """A small manifest over rows of the shared manifest.csv and extra.csv, with their languages and tags."""
    rows = []
    for source, names in clips.items():
        with shared(source).open(newline="") as f:
            for r in csv.DictReader(f):
                if r["file"] in names:
                    tags = "long" if float(r["duration_s"]) > 5 else "short;one-word"
                    rows.append({"file": str(shared(r["file"])), "reference": r["reference"],
                                 "language": r["language"], "tags": tags})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, ["file", "reference", "language", "tags"])
        w.writeheader()
        w.writerows(rows)
    return path


def test_capability_follows_the_catalog_languages() -> None:
    tiny, base = get_spec(TINY), get_spec(BASE)
    row = lambda lang: DatasetRow(Path("x.wav"), "ref", lang)  # noqa: E731
    assert unsupported_reason(tiny, row("en")) is None and unsupported_reason(tiny, row("en-US")) is None
    assert "es" in unsupported_reason(tiny, row("es")) and "sv" in unsupported_reason(tiny, row("en+sv"))
    assert unsupported_reason(tiny, row(None)) is None  # unknown language: run, scored by the fallback
    assert all(unsupported_reason(base, row(x)) is None for x in ("es", "sv", "zh", "en+es"))
    assert row("ZH_tw").languages == ("zh",) and row("en+es").language_key == "en+es"
    assert row("").language_key == "unknown"


def test_eval_json_skips_unsupported_languages_and_reports_per_language(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture) -> None:
    m = _combined(tmp_path / "m.csv")
    p = lab("eval", str(m), "-m", TINY, "-m", BASE, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    tiny, base = out["models"]
    # today's keys are kept
    assert {"model", "wer", "wer_ci", "cer", "rtfx", "latency_p50_s", "clips", "errors"} <= set(tiny)
    # tiny.en is English-only: the Spanish and Swedish clips are skipped, not errors, not scored
    assert tiny["skipped"] == 2 and tiny["errors"] == 0 and tiny["clips"] == 2
    assert sorted(tiny["skipped_reasons"].values()) == [1, 1]
    assert set(tiny["by_language"]) == {"en"} and tiny["language_id_accuracy"] is None
    assert base["skipped"] == 0 and base["clips"] == 4 and set(base["by_language"]) == {"en", "es", "sv"}
    for lang, g in base["by_language"].items():
        assert g["metric"] == "wer" and g["ci"][0] <= g["value"] <= g["ci"][1], lang
    assert base["by_language"]["en"]["clips"] == 2 and base["by_language"]["es"]["clips"] == 1
    assert base["by_language"]["es"]["value"] < 0.5  # measured 0.23
    # base was told each clip's language, so nothing was detected: no language-id figure, and a note says so
    assert base["language_given"] is True and base["language_id_accuracy"] is None
    assert any("language-id accuracy not measured" in n for n in out["notes"])
    # tags split on ';'
    assert base["by_tag"]["long"]["clips"] == 3 and base["by_tag"]["one-word"]["clips"] == 1
    # the headline is over the clips each model ran; the paired comparison only over clips both ran
    assert tiny["ref_words"] == 22 + 2  # jfk.flac + "Fire fox" only
    (pair,) = out["paired"]
    assert pair["clips"] == 2
    # per language, only where both ran: English (the Spanish and Swedish clips are base's alone)
    assert list(pair["by_language"]) == ["en"] and pair["by_language"]["en"]["clips"] == 2
    assert pair["by_language"]["en"]["metric"] == "wer"
    skipped_clip = next(c for c in out["per_clip"] if c["file"] == "mls_es_13697.opus")
    assert skipped_clip[TINY]["skipped"] and skipped_clip[TINY]["text"] is None
    assert skipped_clip[BASE]["wer"] is not None
    # the human-readable output has per-language lines and the skipped count
    _print_eval(out["models"], out["paired"], out["notes"])
    text = capsys.readouterr().out
    assert f"{BASE} · language sv: WER" in text and f"{BASE} · language es: WER" in text
    assert f"{TINY}: skipped 2 clip(s)" in text


def test_language_id_accuracy_when_the_model_detects(tmp_path: Path) -> None:
    m = _combined(tmp_path / "m.csv", {"extra.csv": ["mls_es_13697.opus", "nst_sv_u0016002.wav"]})
    report = evaluate(m, [BASE], language_hint=False, store_run=False)
    base = report.model(BASE)
    assert base.language_given is False and base.language_id_clips == 2
    detected = [r.language for r in report.results[BASE]]
    assert base.language_id_accuracy == sum(d == want for d, want in zip(detected, ["es", "sv"], strict=True)) / 2
    # scoring follows the manifest language even when the model detected another one
    assert all(r.score.language == want for r, want in zip(report.results[BASE], ["es", "sv"], strict=True))
