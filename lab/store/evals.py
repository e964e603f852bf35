"""Stored dataset evaluations read back as corpus figures (from each run's summary, never a single clip)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from db.models import Run
from lab.store._db import aware, session
from lab.store.records import EvalFigure, eval_figures

# Runs whose summary is an evaluation over a dataset (lab.eval.evaluate), with corpus figures per model.
EVAL_RUN_KINDS: tuple[str, ...] = ("eval", "baseline", "regress", "parity")


def _figures(run: Run) -> list[EvalFigure]:
    at = aware(run.created_at) if run.created_at else None
    return eval_figures(run.id, run.kind, at, run.settings, run.summary)


def run_eval_figures(run_ids: Sequence[int]) -> dict[int, list[EvalFigure]]:
    """The corpus figures of those runs that are evaluations with a stored summary."""
    if not run_ids:
        return {}
    with session() as s:
        runs = s.exec(select(Run).where(col(Run.id).in_(list(run_ids)), col(Run.kind).in_(EVAL_RUN_KINDS),
                                        col(Run.summary).is_not(None))).all()
    return {r.id: figs for r in runs if (figs := _figures(r))}


def latest_evaluations(model_id: str | None = None) -> list[EvalFigure]:
    """Each model's newest evaluation per dataset (newest first); only models that ran and were scored."""
    with session() as s:
        runs = s.exec(select(Run).where(col(Run.kind).in_(EVAL_RUN_KINDS), col(Run.summary).is_not(None))
                      .order_by(col(Run.created_at).desc(), col(Run.id).desc())).all()
    seen: set[tuple[str, str]] = set()
    out = []
    for run in runs:
        for f in _figures(run):
            key = (f.model_id, f.dataset)
            if (model_id and f.model_id != model_id) or key in seen or (f.wer is None and f.cer is None):
                continue
            seen.add(key)
            out.append(f)
    return out
