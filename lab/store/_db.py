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
