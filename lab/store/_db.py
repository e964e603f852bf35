"""The session on the configured database: the one place `lab` opens it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from db.session import session as _db_session
from lab.settings import settings

WRITE_ATTEMPTS = 5
# PostgreSQL asks for a retry with these: serialization failure, deadlock detected
RETRY_SQLSTATES = {"40001", "40P01"}


def session():  # noqa: ANN201 - a SQLModel Session context manager
    """A session on the configured database (LAB_DB_URL)."""
    return _db_session(settings().db_url)


def aware(t: datetime) -> datetime:
    """SQLite hands datetimes back without tzinfo; they are UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def schema_problem() -> str | None:
    """Why the database cannot be used (unreachable, migrations not current), or None when it can."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from db.session import alembic_config, get_engine

    try:
        with get_engine(settings().db_url).connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    except Exception as e:  # any driver error: the answer is "not ready", with its type
        return f"database unreachable ({type(e).__name__})."
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if set(current) != set(heads):
        return f"database schema at {', '.join(current) or 'nothing'}, expected {', '.join(heads)}."
    return None


def _retryable(e: DBAPIError) -> bool:
    code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
    # SQLite waits busy_timeout first; a lock still held after that is worth another go, not a user's error
    return code in RETRY_SQLSTATES or "database is locked" in str(e.orig)


def retried[**P, T](fn: Callable[P, T]) -> Callable[P, T]:
    """A write that the backend may ask to retry (each call is one transaction, so it is safe to run again)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return fn(*args, **kwargs)
            except DBAPIError as e:
                if not _retryable(e) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    return wrapper
