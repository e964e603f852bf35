"""Honest summaries: History, Registry, `lab models`, the audit trail and exports show an evaluation's corpus
figures (from the run's stored summary), never its best clip. Real model, real audio, real SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard import format as fmt
from dashboard.picker import model_options
from dashboard.views import history as history_view
from dashboard.views import registry as registry_view
from lab import lifecycle, store
from lab.errors import TransitionError
from lab.eval import regress
from lab.eval.evaluate import evaluate, run_wers
from tests.conftest import run_lab, write_manifest

TINY = "faster-whisper:tiny.en"


@pytest.mark.slow
def test_history_registry_and_audit_show_the_evaluations_corpus_figures(fresh_db: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac", "beckett.wav"])
    report = evaluate(manifest, [TINY])
    m = report.model(TINY)
    per_clip = [r.wer for r in report.results[TINY]]
    assert m.wer is not None and m.clips == 2

    # History: the corpus WER and CER of the run's summary, labelled as such, not the best clip
    (run,) = store.list_runs(5)
    (w,) = run_wers([run]).values()
    assert w.basis == "corpus" and w.corpus[0].wer == m.wer and w.corpus[0].run_id == report.run_id
    row = history_view.runs_frame([run]).iloc[0]
    assert row["WER"] == f"WER {fmt.fmt_pct(m.wer)} · CER {fmt.fmt_pct(m.cer)}"
    assert row["WER is"].startswith("corpus")
    if min(per_clip) != m.wer:
        assert fmt.fmt_pct(min(per_clip)) not in row["WER"]

    # Registry and `lab models --json`: the same corpus figure, with its CI, dataset and date
    evals = lifecycle.evaluations_by_model()
    frames = registry_view.registry_frames(model_options(store.model_states(), [], task=None), evals)
    reg = frames["experimental"].set_index("Model").loc[TINY]
    assert reg["Corpus WER"] == fmt.fmt_pct(m.wer) and reg["Dataset"] == f"{tmp_path.name}/m.csv"
    assert reg["95% CI"] == f"{fmt.fmt_pct(m.wer_ci[0])}–{fmt.fmt_pct(m.wer_ci[1])}"
    (tiny,) = [x for x in lifecycle.models_overview() if x["id"] == TINY]
    assert tiny["latest_eval"]["wer"] == m.wer and tiny["latest_eval"]["run_id"] == report.run_id

    # the audit snapshot keeps the evaluation the gate read, and then the regression report
    (moved,) = lifecycle.transition(TINY, "candidate", "corpus WER on two clips", actor="t")
    assert moved.metrics["evaluation"]["run_id"] == report.run_id and moved.metrics["evaluation"]["wer"] == m.wer
    assert moved.metrics["regression"] is None
    with pytest.raises(TransitionError) as refused:
        lifecycle.transition(TINY, "production", "no gate yet")
    assert refused.value.rules == ("needs-passing-regression",) and refused.value.rule == "needs-passing-regression"
    regress.set_baseline(TINY, manifest)
    gate = regress.regress(regress.make_config([manifest], [TINY], {"max_wer": 0.5, "max_wer_increase_points": 1.0}))
    assert gate.passed
    (moved,) = lifecycle.transition(TINY, "production", "gate passed", actor="t")
    assert moved.metrics["regression"]["report_id"] == gate.report_id
    assert moved.metrics["regression"]["runs"] == gate.runs and moved.metrics["regression"]["passed"] is True
    assert moved.metrics["evaluation"]["run_id"] == gate.runs[0]  # the gate's own evaluation is the newest
    trail = registry_view.transitions_frame(lifecycle.history(TINY))
    assert trail["Regression report"].iloc[0].startswith(f"report #{gate.report_id} passed")
    assert trail["Evaluation"].iloc[1].startswith(f"WER {fmt.fmt_pct(m.wer)}")

    # exports: one row per clip with its own clip, reference, language and the run's settings
    f = history_view.run_filter(kind="eval")
    rows = store.export_rows(f)
    assert [r["clip"] for r in rows] == ["jfk.flac", "beckett.wav"]
    assert rows[0]["reference"].startswith("And so my fellow Americans") and rows[1]["reference"].startswith("Ever")
    assert {r["reference_language"] for r in rows} == {"en"}
    assert rows[0]["settings"]["dataset"] == str(manifest.resolve())
    nested = json.loads(history_view.export_json(f))
    assert [r["clip"] for r in nested[0]["results"]] == ["jfk.flac", "beckett.wav"] and nested[0]["clip"] is None
    assert "settings" in history_view.export_csv(f).decode().splitlines()[0]

    # `lab history` prints the same corpus figure, labelled
    out = run_lab("history", "--limit", "10")
    assert out.returncode == 0, out.stderr
    assert f"{TINY}={m.wer:.3f} (corpus)" in out.stdout and "BEST WER" not in out.stdout


def test_export_with_a_model_filter_keeps_only_that_models_rows(fresh_db: str) -> None:
    run_id = store.start_run("compare", {"beam_size": 5}, {}, reference="hello world")
    store.add_result(run_id, {"model_id": TINY, "text": "hello world", "wer": 0.0})
    store.add_result(run_id, {"model_id": "pocketsphinx:en-us", "text": "hello word", "wer": 0.5})
    rows = store.export_rows(history_view.run_filter(model="pocketsphinx:en-us"))
    assert [(r["model_id"], r["reference"], r["settings"]) for r in rows] == [
        ("pocketsphinx:en-us", "hello world", {"beam_size": 5})]
    (w,) = run_wers(store.list_runs(1)).values()
    assert w.basis == "best result" and w.best_wer == 0.0 and "not a corpus figure" in w.label


def test_refusals_carry_their_rule_and_the_page_action(fresh_db: str) -> None:
    with pytest.raises(TransitionError) as e:
        lifecycle.transition(TINY, "candidate", "looks good")
    assert e.value.rules == ("needs-evaluation",)
    (action,) = registry_view.refusal_actions(e.value.rules, TINY)
    assert action.page == "screens/benchmarks.py" and action.cli == f"lab eval MANIFEST -m {TINY}"
    with pytest.raises(TransitionError) as e:
        lifecycle.transition(TINY, "candidate", " ")
    assert e.value.rule == "reason-required"


@pytest.mark.slow
def test_lab_models_json_adds_latest_eval(fresh_db: str) -> None:
    out = run_lab("models", "--json")
    assert out.returncode == 0, out.stderr
    models = json.loads(out.stdout)
    assert all("latest_eval" in m for m in models) and {m["latest_eval"] for m in models} == {None}


def test_a_one_clip_evaluation_opens_as_corpus_tables_not_a_best_clip_card() -> None:
    from lab.store import ResultRecord, RunDetail

    results = [ResultRecord(model_id=TINY, clip_id=1, wer=0.0)]
    common = {"run_id": 1, "created_at": "2026-01-02T03:04:05", "status": "done", "clip": None, "duration_s": None,
              "models": [TINY], "best_wer": 0.0, "errors": 0, "results": results}
    evaluation = RunDetail(kind="eval", summary={"models": [{"model": TINY, "wer": 0.1}]}, **common)
    assert history_view.as_table(evaluation, 6)
    assert not history_view.as_table(RunDetail(kind="compare", **common), 6)
