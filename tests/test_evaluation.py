"""Evaluation, regression gates, stability and lifecycle gates, with real models on real recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import lifecycle
from lab.audio import load_audio
from lab.errors import TransitionError
from lab.eval.evaluate import evaluate, load_dataset
from lab.eval.regress import alerts, load_config, regress, set_baseline
from lab.eval.stability import stability
from tests.conftest import run_lab as lab
from tests.conftest import shared, write_manifest

TINY, SPHINX = "faster-whisper:tiny.en", "pocketsphinx:en-us"


@pytest.mark.slow
def test_eval_over_shared_audio_ci_and_paired_comparison_agree() -> None:
    report = evaluate(shared("manifest.csv"), [TINY, SPHINX])
    ds = load_dataset(shared("manifest.csv"))
    scored = sum(1 for r in ds.rows if r.reference)
    assert any("no reference" in n for n in report.notes)
    tiny, sphinx = report.model(TINY), report.model(SPHINX)
    for m in (tiny, sphinx):
        assert m.clips == scored and m.errors == 0
        assert m.wer_ci[0] <= m.wer <= m.wer_ci[1]
        assert m.latency_p50_s <= m.latency_p95_s and m.rtfx > 1
        assert m.substitutions + m.deletions + m.insertions == round(m.wer * m.ref_words)
    assert tiny.wer < 0.25 and sphinx.wer > tiny.wer  # measured: 0.16 vs 0.42
    (pair,) = report.paired
    # the paired difference is the difference of the corpus WERs, and its verdict follows its CI
    assert pair["diff"] == pytest.approx(tiny.wer - sphinx.wer)
    assert pair["ci"][0] <= pair["diff"] <= pair["ci"][1]
    assert (pair["ci"][1] < 0) == (pair["verdict"] == f"{TINY} is better than {SPHINX}")
    assert len(report.per_clip) == len(ds.rows)
    from lab.store import get_run

    stored = get_run(report.run_id)
    assert stored.kind == "eval" and stored.summary["models"][0]["wer"] == pytest.approx(tiny.wer)
    # both models are English-only: multilingual.mp3 (en+de) is skipped, not run, not stored
    assert tiny.skipped == sphinx.skipped == sum(1 for r in ds.rows if "de" in r.languages) == 1
    ran = len(ds.rows) - 1
    assert len(stored.results) == 2 * ran and all(r.clip_id for r in stored.results)


@pytest.mark.slow
def test_eval_cli_json_contract(tmp_path: Path) -> None:
    m = write_manifest(tmp_path / "m.csv", ["jfk.flac", "beckett.wav"])
    p = lab("eval", str(m), "-m", TINY, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    (model,) = out["models"]
    assert {"model", "wer", "wer_ci", "cer", "rtfx", "latency_p50_s", "latency_p95_s", "clips", "errors"} <= set(model)
    assert model["wer"] <= 0.05 and model["clips"] == 2 and isinstance(out["run_id"], int)
    bad = lab("eval", str(tmp_path / "nope.csv"), "-m", TINY)
    assert bad.returncode == 2 and "no such manifest" in bad.stderr


def _config(tmp_path: Path, manifest: Path, models: list[str], **thresholds: float) -> Path:
    cfg = tmp_path / "regress.yaml"
    lines = [f"datasets: [{manifest}]", f"models: [{', '.join(models)}]", "thresholds:"]
    lines += [f"  {k}: {v}" for k, v in thresholds.items()]
    lines.append("report: report.json")
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


@pytest.mark.slow
def test_regression_that_fails_on_purpose_and_one_that_passes(tmp_path: Path, fresh_db: str) -> None:
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac", "beckett.wav"])
    # pocketsphinx cannot reach 1% WER: this must fail, exit 1, write and store the report
    failing = _config(tmp_path, manifest, [SPHINX], max_wer=0.01)
    p = lab("regress", str(failing))
    assert p.returncode == 1, p.stderr
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["passed"] is False and any(c["check"] == "max_wer" and not c["passed"] for c in written["checks"])
    assert "FAIL" in p.stdout
    assert any(SPHINX in a and "max_wer" in a for a in alerts())
    # tiny.en against its own fresh baseline, with generous latency headroom: passes
    set_baseline(TINY, manifest)
    ok = regress(load_config(_config(tmp_path, manifest, [TINY], max_wer=0.1, max_wer_increase_points=0.5,
                                     max_p95_latency_ratio=5.0)))
    assert ok.passed, ok.checks
    assert {c.check for c in ok.checks} == {"max_wer", "max_wer_increase_points", "max_p95_latency_ratio"}
    assert alerts() == []  # the latest report passed
    # a ratio check without a baseline fails, saying so
    nobase = regress(load_config(_config(tmp_path, manifest, [SPHINX], max_p95_latency_ratio=2.0)))
    assert not nobase.passed and "no baseline" in nobase.checks[0].detail


def test_regress_config_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [faster-whisper:tiny.en]\nthresholds: {max_wer: 0.1}\n")
    p = lab("regress", str(bad))
    assert p.returncode == 2 and "needs 'datasets'" in p.stderr
    bad.write_text(f"datasets: [{shared('manifest.csv')}]\nmodels: [{TINY}]\nthresholds: {{max_speed: 1}}\n")
    assert "unknown thresholds" in lab("regress", str(bad)).stderr


@pytest.mark.slow
def test_stability_statistics(jfk: Path) -> None:
    r = stability(load_audio(jfk), TINY, runs=5)
    assert r.runs == 5 and len(r.latencies_s) == 5 and r.errors == 0
    assert r.p50_s <= r.p95_s <= r.p99_s <= max(r.latencies_s)
    assert r.std_s >= 0 and r.first_run_s > 0 and r.rss_start_mb > 0 and len(r.rss_mb) == 6
    assert r.identical  # CTranslate2 beam search on CPU is deterministic
    p = lab("stability", str(jfk), "-m", SPHINX, "--runs", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"p50_s", "p95_s", "p99_s", "rss_start_mb", "rss_end_mb", "errors", "identical"} <= set(out)
    assert out["errors"] == 0 and out["identical"] is True


@pytest.mark.slow
def test_every_lifecycle_gate(tmp_path: Path, fresh_db: str) -> None:
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac"])
    # experimental → production: no skipping
    with pytest.raises(TransitionError, match=r"\[one-step-at-a-time\]"):
        lifecycle.transition(TINY, "production", "skip")
    # experimental → candidate needs a stored evaluation
    with pytest.raises(TransitionError, match=r"\[needs-evaluation\]"):
        lifecycle.transition(TINY, "candidate", "looks fine")
    evaluate(manifest, [TINY, SPHINX])
    lifecycle.transition(TINY, "candidate", "WER 0 on jfk")
    # candidate → production needs a passing regression report newer than the last change
    with pytest.raises(TransitionError, match=r"\[needs-passing-regression\] no passing"):
        lifecycle.transition(TINY, "production", "ship")
    assert not regress(load_config(_config(tmp_path, manifest, [TINY], max_wer=-1))).passed
    with pytest.raises(TransitionError, match=r"failed"):
        lifecycle.transition(TINY, "production", "ship")
    assert regress(load_config(_config(tmp_path, manifest, [TINY], max_wer=0.1))).passed
    lifecycle.transition(TINY, "production", "ship")
    # a second production model for English ASR moves the first back to candidate
    lifecycle.transition(SPHINX, "candidate", "evaluated")
    assert regress(load_config(_config(tmp_path, manifest, [SPHINX], max_wer=0.5))).passed
    moved = lifecycle.transition(SPHINX, "production", "smaller")
    assert [(t.model_id, t.from_state, t.to_state) for t in moved] == [
        (TINY, "production", "candidate"), (SPHINX, "candidate", "production")]
    assert lifecycle.state_of(TINY) == "candidate"
    # deprecated goes back only to experimental or candidate, with a reason
    lifecycle.transition(SPHINX, "deprecated", "too inaccurate")
    with pytest.raises(TransitionError, match=r"deprecated → production is not allowed"):
        lifecycle.transition(SPHINX, "production", "again")
    lifecycle.transition(SPHINX, "experimental", "retrain")
    # the audit trail has every move with the metrics it was decided on
    trail = lifecycle.history(SPHINX)
    assert [t.to_state for t in trail] == ["experimental", "deprecated", "production", "candidate"]
    assert trail[-1].metrics["evaluation"]["model_id"] == SPHINX and trail[-1].metrics["evaluation"]["run_id"]
    assert trail[2].metrics["regression"]["passed"] is True  # the report the production gate read
    # CLI: a refusal exits 2 and names the rule
    p = lab("promote", TINY, "--to", "deprecated", "--reason", "")
    assert p.returncode == 2 and "[reason-required]" in p.stderr
    p = lab("promote", SPHINX, "--to", "production", "--reason", "x")
    assert p.returncode == 2 and "[one-step-at-a-time]" in p.stderr


@pytest.mark.slow
def test_html_report_is_self_contained(tmp_path: Path) -> None:
    report = evaluate(write_manifest(tmp_path / "m.csv", ["jfk.flac"]), [TINY])
    out = tmp_path / "r.html"
    p = lab("report", str(report.run_id), "-o", str(out))
    assert p.returncode == 0, p.stderr
    page = out.read_text()
    assert TINY in page and "Plotly.newPlot" in page and "<script src=" not in page
    assert "fellow Americans" in page
    assert lab("report", "999999", "-o", str(out)).returncode == 2
