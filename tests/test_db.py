"""Storage: migrations applied automatically, SQLite pragmas, filters, deletes, lifecycle history.

Tests taking `backend_db` run on SQLite and on a real PostgreSQL server (conftest.pg_server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from db.models import RegressionReport
from db.session import get_engine, reset_engines
from lab import lifecycle, store
from lab.errors import LabError, TransitionError
from lab.settings import settings
from lab.store import session


def test_migrations_create_schema_and_record_head(fresh_db: str) -> None:
    engine = get_engine(settings().db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"models", "transitions", "clips", "runs", "results", "alembic_version"} <= tables
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == head()
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def head() -> str:
    from alembic.script import ScriptDirectory

    from db.session import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_keeps_rows_written_by_the_first_schema(tmp_path) -> None:  # noqa: ANN001
    from alembic import command
    from sqlalchemy import create_engine

    from db.session import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = alembic_config()
    old = create_engine(url)
    with old.begin() as c:
        cfg.attributes["connection"] = c
        command.upgrade(cfg, "0001")
        c.execute(text("insert into runs (kind, created_at, status, settings, machine) "
                       "values ('compare', '2026-01-01 00:00:00', 'done', '{}', '{}')"))
    old.dispose()
    engine = get_engine(url)  # what the app does on start: migrate to head
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == head()
        assert c.execute(text("select kind, summary from runs")).all() == [("compare", None)]
    reset_engines()


def test_history_survives_a_new_process(backend_db: str) -> None:
    run_id = store.start_run("compare", {"models": ["m"]}, {"cpu": "x"})
    store.add_result(run_id, {"model_id": "m", "text": "hello", "wer": 0.5})
    reset_engines()  # as a new process would: migrations run again on an existing database
    got = store.get_run(run_id)
    assert got.results[0].text == "hello" and got.settings == {"models": ["m"]}


def test_filters_pagination_and_delete(backend_db: str) -> None:
    ids = []
    for i in range(25):
        rid = store.start_run("eval" if i % 5 == 0 else "compare", {}, {})
        store.add_result(rid, {"model_id": "a" if i % 2 else "b", "wer": i / 100})
        store.finish_run(rid, "done")
        ids.append(rid)
    assert store.count_runs() == 25
    assert store.count_runs(store.RunFilter(kind="eval")) == 5
    assert store.count_runs(store.RunFilter(model="a")) == 12
    page1 = store.list_runs(limit=10)
    page3 = store.list_runs(limit=10, offset=20)
    assert [r.run_id for r in page1] == ids[::-1][:10] and len(page3) == 5
    future = datetime.now(UTC) + timedelta(days=1)
    assert store.count_runs(store.RunFilter(since=future)) == 0
    store.delete_run(ids[0])
    assert store.count_runs() == 24
    with pytest.raises(LabError, match="no run"):
        store.get_run(ids[0])


def passing_report(model: str) -> None:
    with session() as s:
        s.add(RegressionReport(passed=True, models=[model]))
        s.commit()


def test_lifecycle_rules_and_append_only_audit(backend_db: str) -> None:
    with pytest.raises(TransitionError, match=r"\[one-step-at-a-time\]"):
        lifecycle.transition("faster-whisper:tiny.en", "production", "skip ahead")
    with pytest.raises(TransitionError, match=r"\[reason-required\]"):
        lifecycle.transition("faster-whisper:tiny.en", "candidate", "  ")
    for model in ("faster-whisper:tiny.en", "pocketsphinx:en-us"):  # the evidence the gates ask for
        rid = store.start_run("eval", {}, {})
        store.add_result(rid, {"model_id": model, "wer": 0.1})
    lifecycle.transition("faster-whisper:tiny.en", "candidate", "good WER on jfk", actor="ana")
    passing_report("faster-whisper:tiny.en")
    lifecycle.transition("faster-whisper:tiny.en", "production", "ship it", actor="ana")
    lifecycle.transition("pocketsphinx:en-us", "candidate", "tiny footprint", actor="bo")
    passing_report("pocketsphinx:en-us")
    moved = lifecycle.transition("pocketsphinx:en-us", "production", "runs on a toaster", actor="bo")
    # the previous English ASR production model goes back to candidate, recorded
    assert [(t.model_id, t.to_state) for t in moved] == [("faster-whisper:tiny.en", "candidate"),
                                                          ("pocketsphinx:en-us", "production")]
    assert lifecycle.state_of("faster-whisper:tiny.en") == "candidate"
    trail = lifecycle.history("faster-whisper:tiny.en")
    assert [(t.from_state, t.to_state) for t in trail] == [
        ("production", "candidate"), ("candidate", "production"), ("experimental", "candidate")]
    assert trail[-1].actor == "ana" and trail[-1].reason == "good WER on jfk"
    # the evidence each move was decided on: the evaluation and the regression report the gates read
    assert set(trail[-1].metrics) == {"evaluation", "evaluations", "regression"}
    assert trail[1].metrics["regression"]["passed"] is True and trail[1].metrics["regression"]["report_id"] == 1
    with session() as s:
        n = s.exec(text("select count(*) from transitions")).scalar()  # type: ignore[call-overload]
    assert n == 5


def test_deleting_a_run_keeps_its_baseline_and_votes(backend_db: str) -> None:
    from db.models import Baseline, Vote

    run_id = store.start_run("baseline", {}, {})
    with session() as s:
        s.add(Baseline(model_id="m", dataset="d.csv", dataset_sha256="x", run_id=run_id, wer=0.1))
        s.add(Vote(task="tts", model_a="a", model_b="b", winner="a", run_id=run_id))
        s.commit()
    store.delete_run(run_id)
    with session() as s:
        assert s.exec(text("select run_id from baselines")).all() == [(None,)]  # type: ignore[call-overload]
        assert s.exec(text("select run_id from votes")).all() == [(None,)]  # type: ignore[call-overload]


def test_stored_rows_read_back_as_typed_records(backend_db: str) -> None:
    from lab.errors import NotFoundError
    from lab.runner import ModelResult

    run_id = store.start_run("compare", {"models": ["m"]}, {"cpu": "x"}, reference="hello world")
    row = ModelResult("m", text="hello", wer=0.5, latency_s=0.2, flags=["truncated"]).row()
    assert tuple(row) == store.RESULT_COLUMNS
    store.add_result(run_id, row)
    store.finish_run(run_id, "done", summary={"models": []})
    (summary,) = store.list_runs(limit=1)
    assert isinstance(summary, store.RunSummary) and summary.run_id == run_id and summary.models == ["m"]
    assert list(summary.to_json()) == ["run_id", "kind", "created_at", "status", "clip", "duration_s", "models",
                                       "best_wer", "errors"]
    run = store.get_run(run_id)
    assert isinstance(run, store.RunDetail) and run.reference == "hello world" and run.summary == {"models": []}
    (result,) = run.results
    assert isinstance(result, store.ResultRecord) and result.run_id == run_id and result.id is not None
    assert (result.text, result.wer, result.flags) == ("hello", 0.5, ["truncated"])
    assert result.row() == row
    with pytest.raises(NotFoundError, match="no run with id"):
        store.get_run(run_id + 1)
    with pytest.raises(ValueError, match="not result fields"):
        store.add_result(run_id, {"model_id": "m", "nope": 1})


def test_one_field_list_gives_the_json_the_row_and_the_export() -> None:
    from lab.runner import ModelResult

    assert tuple(ModelResult("m").to_json()) == store.RESULT_JSON_KEYS == (
        "model", "text", "wer", "cer", "latency_s", "rtfx", "load_s", "error", "cached", "warmup_s", "language",
        "device", "compute_type", "beam_size", "threads", "language_probability", "score_language",
        "headline_metric", "queue_s", "flags", "label")
    assert set(store.EXPORT_COLUMNS) == {"run_id", "created_at", "kind", "status", "clip", "duration_s", "reference",
                                         "model_id", "text", "wer", "cer", "latency_s", "rtfx", "load_s", "cached",
                                         "warmup_s", "error", "language", "device", "compute_type", "beam_size",
                                         "threads", "language_probability", "score_language", "headline_metric",
                                         "queue_s", "label", "reference_language", "settings"}
    assert set(store.RESULT_EXPORT_COLUMNS) <= set(store.RESULT_COLUMNS)


def test_baselines_reports_votes_and_transitions_as_records(backend_db: str) -> None:
    from pathlib import Path

    b = store.add_baseline(store.Baseline(model_id="m", dataset=str(Path("d.csv").resolve()), dataset_sha256="x",
                                          wer=0.1))
    assert isinstance(b, store.Baseline) and b.id is not None
    assert store.latest_baseline("m", "d.csv") == b and store.latest_baseline("m", "other.csv") is None
    assert b.to_json()["baseline_id"] == b.id
    check = store.RegressionCheck(model="m", dataset="d.csv", check="max_wer", value=0.2, limit=0.1, passed=False)
    saved = store.add_regression_report(store.RegressionReport(
        passed=False, checks=[check], runs=[None], models=["m"], datasets=["d.csv"], thresholds={"max_wer": 0.1}),
        {"models": ["m"]})
    (back,) = store.regression_reports(1)
    assert back.report_id == saved.report_id and back.checks == [check] and not back.passed
    assert list(saved.to_json()) == ["passed", "checks", "runs", "models", "datasets", "thresholds", "report_id",
                                     "created_at"]
    v = store.add_vote(store.Vote(task="tts", model_a="a", model_b="b", winner="a"))
    assert store.votes("tts") == [v] and store.vote_count("tts") == (1, v.id) and store.votes("asr") == []
    rid = store.start_run("eval", {}, {})
    store.add_result(rid, {"model_id": "faster-whisper:tiny.en", "wer": 0.1})
    (t,) = lifecycle.transition("faster-whisper:tiny.en", "candidate", "evidence", actor="ana")
    assert isinstance(t, store.Transition) and t.from_state == "experimental" and t.id is not None
    assert store.transitions("faster-whisper:tiny.en") == [t]
    assert list(t.to_json()) == ["model", "from", "to", "reason", "actor", "at"]
