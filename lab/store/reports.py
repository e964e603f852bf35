"""Baselines and stored regression reports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlmodel import col, select

from db.models import Baseline as BaselineRow
from db.models import RegressionReport as ReportRow
from lab.store._db import session
from lab.store.records import Baseline, RegressionCheck, RegressionReport


def _baseline(r: BaselineRow) -> Baseline:
    return Baseline(model_id=r.model_id, dataset=r.dataset, dataset_sha256=r.dataset_sha256, run_id=r.run_id,
                    wer=r.wer, cer=r.cer, latency_p95_s=r.latency_p95_s, rtfx=r.rtfx, id=r.id,
                    created_at=r.created_at)


def add_baseline(b: Baseline) -> Baseline:
    """Store a baseline; returns it with its id and time."""
    row = BaselineRow(model_id=b.model_id, dataset=b.dataset, dataset_sha256=b.dataset_sha256, run_id=b.run_id,
                      wer=b.wer, cer=b.cer, latency_p95_s=b.latency_p95_s, rtfx=b.rtfx)
    with session() as s:
        s.add(row)
        s.commit()
        s.refresh(row)
        return _baseline(row)


def latest_baseline(model_id: str, dataset: str | Path) -> Baseline | None:
    with session() as s:
        row = s.exec(select(BaselineRow).where(BaselineRow.model_id == model_id,
                                               BaselineRow.dataset == str(Path(dataset).resolve()))
                     .order_by(col(BaselineRow.id).desc())).first()
        return _baseline(row) if row else None


def _report(r: ReportRow) -> RegressionReport:
    body = r.report or {}
    return RegressionReport(passed=r.passed, checks=[RegressionCheck(**c) for c in body.get("checks") or []],
                            runs=list(body.get("runs") or []), models=list(r.models or body.get("models") or []),
                            datasets=list(body.get("datasets") or []), thresholds=dict(body.get("thresholds") or {}),
                            report_id=r.id, created_at=r.created_at)


def add_regression_report(report: RegressionReport, config: dict) -> RegressionReport:
    """Store a report with the config it ran; returns it with its id and time."""
    row = ReportRow(passed=report.passed, config=config, report=report.body(), models=report.models)
    with session() as s:
        s.add(row)
        s.commit()  # no refresh: created_at keeps the time it was made with (UTC, aware)
        return replace(report, report_id=row.id, created_at=row.created_at)


def regression_reports(limit: int | None = 20) -> list[RegressionReport]:
    """Stored reports, newest first (all of them when `limit` is None)."""
    with session() as s:
        q = select(ReportRow).order_by(col(ReportRow.id).desc())
        rows = s.exec(q.limit(limit) if limit else q).all()
        return [_report(r) for r in rows]
