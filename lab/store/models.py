"""Lifecycle records: each model's state and the append-only trail of transitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from db.models import ModelRecord, Result, Run, utcnow
from db.models import Transition as TransitionRow
from lab.catalog import catalog
from lab.errors import NotFoundError
from lab.store._db import aware, session
from lab.store.records import ResultRecord, Transition
from lab.store.runs import result_record


def ensure_models() -> None:
    """Give every catalog model a lifecycle row (its default state) the first time it is seen."""
    with session() as s:
        known = set(s.exec(select(ModelRecord.id)).all())
        for spec in catalog().values():
            if spec.id not in known:
                s.add(ModelRecord(id=spec.id, state=spec.default_state, updated_at=utcnow()))
        try:
            s.commit()
        except IntegrityError:  # another thread or process added them first: theirs are the same defaults
            s.rollback()


def model_states() -> dict[str, str]:
    ensure_models()
    with session() as s:
        return {m.id: m.state for m in s.exec(select(ModelRecord)).all()}


def _record(s, model_id: str) -> ModelRecord:  # noqa: ANN001
    row = s.get(ModelRecord, model_id)
    if row is None:
        raise NotFoundError(f"no lifecycle record for {model_id}.")
    return row


def state_of(model_id: str) -> str:
    ensure_models()
    with session() as s:
        return _record(s, model_id).state


def changed_at(model_id: str) -> datetime:
    """When the model's state last changed (timezone-aware, UTC)."""
    ensure_models()
    with session() as s:
        return aware(_record(s, model_id).updated_at)


def models_in_state(state: str) -> list[str]:
    with session() as s:
        return list(s.exec(select(ModelRecord.id).where(ModelRecord.state == state)).all())


def has_result_of_kind(model_id: str, kinds: Sequence[str]) -> bool:
    """Whether the model has a stored successful result in a run of one of `kinds`."""
    with session() as s:
        found = s.exec(select(Result.id).join(Run, Run.id == Result.run_id)
                       .where(Result.model_id == model_id, col(Result.error).is_(None),
                              col(Run.kind).in_(kinds)).limit(1)).first()
    return found is not None


def recent_results(model_id: str, limit: int = 50) -> list[ResultRecord]:
    """The model's newest successful results."""
    with session() as s:
        rows = s.exec(select(Result).where(Result.model_id == model_id, col(Result.error).is_(None))
                      .order_by(col(Result.id).desc()).limit(limit)).all()
        return [result_record(r) for r in rows]


def record_transitions(moves: Sequence[Transition]) -> list[Transition]:
    """Apply the moves in one transaction: each model takes its `to_state`, and the move is appended to the
    trail with the state it left (`from_state` is read from the database). Returns the recorded moves."""
    ensure_models()
    rows = []
    with session() as s:
        for m in moves:
            record = _record(s, m.model_id)
            row = TransitionRow(model_id=m.model_id, from_state=record.state, to_state=m.to_state, reason=m.reason,
                                actor=m.actor, metrics=m.metrics)
            record.state, record.updated_at = m.to_state, utcnow()
            s.add(record)
            s.add(row)
            rows.append(row)
        s.commit()
        return [_transition(r) for r in rows]


def _transition(r: TransitionRow) -> Transition:
    return Transition(model_id=r.model_id, from_state=r.from_state, to_state=r.to_state, reason=r.reason,
                      actor=r.actor, metrics=r.metrics, at=r.at, id=r.id)


def transitions(model_id: str | None = None, limit: int = 200) -> list[Transition]:
    """The append-only audit trail, newest first."""
    with session() as s:
        q = select(TransitionRow)
        if model_id:
            q = q.where(TransitionRow.model_id == model_id)
        rows = s.exec(q.order_by(col(TransitionRow.at).desc(), col(TransitionRow.id).desc()).limit(limit)).all()
        return [_transition(r) for r in rows]
