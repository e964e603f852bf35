"""The one way to the database: the CLI, dashboard, API and core read and write through here.

    runs      clips, runs and results as they happen; listing, reading, deleting runs
    models    lifecycle states and the transition trail
    reports   baselines and regression reports
    votes     blind A/B votes
    history   the History page's queries (distinct values, chart data, export, counts)
    records   the typed records all of them take and return, and the result field list

Nothing outside this package imports `db`, SQLModel or SQLAlchemy.
"""

from lab.store._db import aware, session
from lab.store.history import counts, export_rows, latencies, result_models, run_kinds, wer_buckets
from lab.store.models import (
    changed_at,
    ensure_models,
    has_result_of_kind,
    model_states,
    models_in_state,
    recent_results,
    record_transitions,
    state_of,
    transitions,
)
from lab.store.records import (
    EXPORT_COLUMNS,
    RESULT_COLUMNS,
    RESULT_EXPORT_COLUMNS,
    RESULT_FIELDS,
    RESULT_JSON_KEYS,
    RUN_EXPORT_COLUMNS,
    Baseline,
    ClipUploadRecord,
    DbCounts,
    RegressionCheck,
    RegressionReport,
    ResultField,
    ResultRecord,
    RunDetail,
    RunSummary,
    Transition,
    Vote,
)
from lab.store.reports import add_baseline, add_regression_report, latest_baseline, regression_reports
from lab.store.runs import (
    RunFilter,
    add_result,
    clip_audio_path,
    clip_uploads,
    clips_dir,
    count_runs,
    delete_run,
    filtered,
    finish_run,
    get_run,
    list_runs,
    save_clip,
    start_run,
)
from lab.store.votes import add_vote, vote_count, votes

__all__ = [
    "EXPORT_COLUMNS", "RESULT_COLUMNS", "RESULT_EXPORT_COLUMNS", "RESULT_FIELDS", "RESULT_JSON_KEYS",
    "RUN_EXPORT_COLUMNS", "Baseline", "ClipUploadRecord", "DbCounts", "RegressionCheck", "RegressionReport",
    "ResultField", "ResultRecord", "RunDetail", "RunFilter", "RunSummary", "Transition", "Vote", "add_baseline",
    "add_regression_report", "add_result", "add_vote", "changed_at", "clip_audio_path", "clip_uploads", "clips_dir",
    "count_runs", "counts", "delete_run", "ensure_models", "export_rows", "filtered", "finish_run", "get_run",
    "has_result_of_kind", "latencies", "latest_baseline", "list_runs", "model_states", "models_in_state",
    "recent_results", "record_transitions", "regression_reports", "result_models", "run_kinds", "save_clip",
    "session", "start_run", "state_of", "transitions", "vote_count", "votes", "wer_buckets", "aware",
]
