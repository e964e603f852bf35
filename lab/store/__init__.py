"""The one way to the database: the CLI, dashboard, API and core read and write through here.

    runs      clips, runs and results as they happen; listing, reading, deleting runs
    models    lifecycle states and the transition trail
    reports   baselines and regression reports
    votes     blind A/B votes
    evals     stored evaluations as corpus figures (each model's latest per dataset)
    liveness  run owners and heartbeats; marking runs whose owner is gone as interrupted
    history   the History page's queries (distinct values, chart data, export, counts)
    keys      HTTP API keys (hashes only)
    requests  the HTTP API's request log, for /stats
    records   the typed records all of them take and return, and the result field list

Nothing outside this package imports `db`, SQLModel or SQLAlchemy.
"""

from lab.store._db import aware, schema_problem, session
from lab.store.evals import EVAL_RUN_KINDS, latest_evaluations, run_eval_figures
from lab.store.history import counts, export_rows, latencies, result_models, run_kinds, wer_buckets
from lab.store.keys import create_key, list_keys, revoke_key, verify_key
from lab.store.liveness import interrupt_own_runs, mark_interrupted_runs, mark_interrupted_runs_once
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
    ApiKeyRecord,
    Baseline,
    ClipUploadRecord,
    DbCounts,
    EvalFigure,
    RegressionCheck,
    RegressionReport,
    RequestStats,
    ResultField,
    ResultRecord,
    RunDetail,
    RunSummary,
    Transition,
    Vote,
)
from lab.store.reports import add_baseline, add_regression_report, latest_baseline, regression_reports
from lab.store.requests import log_request, request_stats
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
    "ApiKeyRecord", "Baseline", "ClipUploadRecord", "DbCounts", "EVAL_RUN_KINDS", "EvalFigure", "EXPORT_COLUMNS",
    "RegressionCheck", "RegressionReport", "RequestStats", "RESULT_COLUMNS", "RESULT_EXPORT_COLUMNS", "RESULT_FIELDS",
    "RESULT_JSON_KEYS", "ResultField", "ResultRecord", "RUN_EXPORT_COLUMNS", "RunDetail", "RunFilter", "RunSummary",
    "Transition", "Vote", "add_baseline", "add_regression_report", "add_result", "add_vote", "aware", "changed_at",
    "clip_audio_path", "clip_uploads", "clips_dir", "count_runs", "counts", "create_key", "delete_run",
    "ensure_models", "export_rows", "filtered", "finish_run", "get_run", "has_result_of_kind", "interrupt_own_runs",
    "latencies", "latest_baseline", "latest_evaluations", "list_keys", "list_runs", "log_request",
    "mark_interrupted_runs", "mark_interrupted_runs_once", "model_states", "models_in_state", "recent_results",
    "record_transitions", "regression_reports", "request_stats", "result_models", "revoke_key", "run_eval_figures",
    "run_kinds", "save_clip", "schema_problem", "session", "start_run", "state_of", "transitions", "verify_key",
    "vote_count", "votes", "wer_buckets",
]
