"""The session on the configured database: the one place `lab` opens it."""

from __future__ import annotations

from datetime import UTC, datetime

from db.session import session as _db_session
from lab.settings import settings


def session():  # noqa: ANN201 - a SQLModel Session context manager
    """A session on the configured database (LAB_DB_URL)."""
    return _db_session(settings().db_url)


def aware(t: datetime) -> datetime:
    """SQLite hands datetimes back without tzinfo; they are UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)
