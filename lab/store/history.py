"""The History page's queries over many runs: distinct values, chart data, export, counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from db.models import Clip, Result, Run
from lab.store._db import session
from lab.store.records import EXPORT_COLUMNS, RESULT_EXPORT_COLUMNS, RUN_EXPORT_COLUMNS, DbCounts
from lab.store.runs import RunFilter, filtered


def result_models() -> list[str]:
    """Model ids that have stored results (the model_id index makes this cheap)."""
    with session() as s:
        return sorted(m for m in s.exec(select(Result.model_id).distinct()).all() if m)


def run_kinds() -> list[str]:
    with session() as s:
        return sorted(k for k in s.exec(select(Run.kind).distinct()).all() if k)


def _results_of_filtered_runs(columns: list[Any], f: RunFilter):  # noqa: ANN202 - SQLAlchemy select
    q = select(*columns).select_from(Result).join(Run, col(Run.id) == col(Result.run_id))
    return filtered(q, f)


def latencies(f: RunFilter, sample: int = 10_000) -> list[tuple[str, float]]:
    """(model, latency) of the newest `sample` successful results of the filtered runs. Only two columns
    travel from the database, so 10,000 runs stay fast."""
    q = _results_of_filtered_runs([Result.model_id, Result.latency_s], f)
    q = q.where(col(Result.latency_s).is_not(None), col(Result.error).is_(None))
    with session() as s:
        return [(m, lat) for m, lat in s.exec(q.order_by(col(Result.id).desc()).limit(sample)).all()]


def wer_buckets(f: RunFilter) -> list[tuple[str, str, float, int]]:
    """(bucket, model, mean WER, n) per model per hour (runs spanning ≤ 2 days) or per day, aggregated in SQL;
    `bucket` is the hour or day as text."""
    with session() as s:
        span = s.exec(filtered(select(func.min(Run.created_at), func.max(Run.created_at)), f)).one()
        if span[0] is None:
            return []
        lo, hi = (v if isinstance(v, datetime) else datetime.fromisoformat(str(v)) for v in span)
        unit = "hour" if hi - lo <= timedelta(days=2) else "day"
        dialect = s.get_bind().dialect.name
        bucket = (func.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d", Run.created_at)
                  if dialect == "sqlite" else func.date_trunc(unit, Run.created_at))
        q = _results_of_filtered_runs([bucket.label("bucket"), Result.model_id, func.avg(Result.wer),
                                       func.count(Result.id)], f)
        q = q.where(col(Result.wer).is_not(None)).group_by(bucket, Result.model_id).order_by(bucket)
        return [tuple(r) for r in s.exec(q).all()]


def export_rows(f: RunFilter) -> list[dict[str, Any]]:
    """Every filtered run, one row per model result (a run without results gives one row), newest first;
    keys are `EXPORT_COLUMNS`. A result's own clip (an evaluation's, one run over many clips) fills the clip,
    duration, reference and reference language; a model filter keeps only that model's rows."""
    result_clip = aliased(Clip)
    cols = [Run.id, Run.created_at, Run.kind, Run.status, Clip.name, Clip.duration_s, Run.reference,
            *(getattr(Result, c) for c in RESULT_EXPORT_COLUMNS), Run.settings, Result.clip_id,
            result_clip.name, result_clip.duration_s]
    q = (select(*cols).select_from(Run).outerjoin(Clip, col(Clip.id) == col(Run.clip_id))
         .outerjoin(Result, col(Result.run_id) == col(Run.id))
         .outerjoin(result_clip, col(result_clip.id) == col(Result.clip_id)))
    if f.model:
        q = q.where(Result.model_id == f.model)
    q = filtered(q, f).order_by(col(Run.created_at).desc(), col(Run.id).desc(), col(Result.id))
    with session() as s:
        rows = s.exec(q).all()
        per_clip = _clip_references(s, {r[0] for r in rows if r[-3] is not None})
    n = len(RUN_EXPORT_COLUMNS) + len(RESULT_EXPORT_COLUMNS)
    out = []
    for r in rows:
        d = dict(zip(EXPORT_COLUMNS[:n], r[:n], strict=True))
        settings, clip_id, clip_name, clip_duration = r[n:]
        ref = per_clip.get((d["run_id"], clip_id), {})
        d["clip"] = clip_name or d["clip"]
        d["duration_s"] = clip_duration if clip_name else d["duration_s"]
        d["reference"] = ref.get("reference") or d["reference"]
        d["reference_language"] = ref.get("language") or d.get("score_language")
        d["settings"] = settings or {}
        d["created_at"] = d["created_at"].isoformat(timespec="seconds") if d["created_at"] else None
        out.append(d)
    return out


def _clip_references(s, run_ids: set[int]) -> dict[tuple[int, int], dict]:  # noqa: ANN001 - a session
    """(run, clip) → {reference, language} from evaluation summaries (`clips`, stored by lab.eval.evaluate)."""
    if not run_ids:
        return {}
    out = {}
    for run_id, summary in s.exec(select(Run.id, Run.summary).where(col(Run.id).in_(run_ids))).all():
        for c in (summary or {}).get("clips") or []:
            if isinstance(c, dict) and c.get("clip_id") is not None:
                out[(run_id, c["clip_id"])] = c
    return out


def counts() -> DbCounts:
    """How many runs, results and clips are stored."""
    with session() as s:
        return DbCounts(runs=s.exec(select(func.count()).select_from(Run)).one(),
                        results=s.exec(select(func.count()).select_from(Result)).one(),
                        clips=s.exec(select(func.count()).select_from(Clip)).one())
