"""Engine and sessions for a database URL. Migrations run once per process per database, before first use.

The URL always comes from the caller (`lab.store`, which reads `lab.settings`): `db` reads no settings."""

from __future__ import annotations

import fcntl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

DB_DIR = Path(__file__).resolve().parent
MIGRATIONS = DB_DIR / "migrations"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    with _lock:
        if url not in _engines:
            _engines[url] = _create(url)
        return _engines[url]


def _create(url: str) -> Engine:
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    args = {"check_same_thread": False, "timeout": 30} if is_sqlite else {}
    engine = create_engine(url, connect_args=args, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        # several processes may start on a new file at once: one migrates, the others then find it done
        with _file_lock(Path(parsed.database + ".migrate.lock")):
            upgrade(engine)
    else:
        upgrade(engine)
    return engine


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, released when the holder exits, however it exits."""
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI types vary
    cur = dbapi_conn.cursor()
    # busy_timeout first: switching to WAL needs a lock another process may hold for a moment
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL: the dashboard reads while a run writes
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# any fixed 64-bit key: every process migrating this schema on PostgreSQL takes the same lock
_PG_LOCK_KEY = zlib.crc32(b"model-lab migrations")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration, so history survives upgrades.

    Alembic reads the stored version inside this transaction, so a process that waited for the lock
    (PostgreSQL: an advisory lock held until commit; SQLite: the caller's file lock) finds it current."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def session(url: str) -> Iterator[Session]:
    with Session(get_engine(url), expire_on_commit=False) as s:
        yield s


def reset_engines() -> None:
    """Dispose of and forget every cached engine (tests switch between databases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
