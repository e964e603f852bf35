"""Blind A/B votes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from db.models import Vote as VoteRow
from lab.store._db import session
from lab.store.records import Vote


def _vote(r: VoteRow) -> Vote:
    return Vote(task=r.task, model_a=r.model_a, model_b=r.model_b, winner=r.winner, prompt=r.prompt,
                run_id=r.run_id, voter=r.voter, id=r.id, created_at=r.created_at)


def add_vote(v: Vote) -> Vote:
    row = VoteRow(task=v.task, model_a=v.model_a, model_b=v.model_b, winner=v.winner, prompt=v.prompt,
                  run_id=v.run_id, voter=v.voter)
    with session() as s:
        s.add(row)
        s.commit()
        s.refresh(row)
        return _vote(row)


def votes(task: str | None = None, since: datetime | None = None) -> list[Vote]:
    """Votes, oldest first."""
    with session() as s:
        q = select(VoteRow)
        if task:
            q = q.where(VoteRow.task == task)
        if since:
            q = q.where(VoteRow.created_at >= since)
        return [_vote(r) for r in s.exec(q.order_by(col(VoteRow.id))).all()]


def vote_count(task: str) -> tuple[int, int | None]:
    """How many votes a task has and the newest one's id (what a leaderboard depends on)."""
    with session() as s:
        count, newest = s.exec(select(func.count(col(VoteRow.id)), func.max(VoteRow.id))
                               .where(VoteRow.task == task)).one()
    return int(count), newest
