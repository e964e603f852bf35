"""Shared fixtures. Every test session gets its own SQLite file, clips folder and weights cache."""

from __future__ import annotations

import csv
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = Path(os.environ.get("LAB_SHARED_AUDIO", REPO.parent / "shared" / "audio"))
JFK_REF = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


@pytest.fixture(scope="session", autouse=True)
def _isolated_lab(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("lab")
    os.environ["LAB_DB_URL"] = f"sqlite:///{root / 'lab.sqlite'}"
    os.environ["LAB_CLIPS_DIR"] = str(root / "clips")
    os.environ.setdefault("LAB_CACHE_DIR", str(root / "cache"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("LAB_THREADS", "2")
    from db.session import reset_engines
    from lab.settings import reload_settings

    reload_settings()
    reset_engines()


@pytest.fixture(autouse=True)
def _settings_follow_env() -> None:
    """Settings are read once; a test that changes the environment gets them re-read, and the next test
    starts from the environment as monkeypatch restored it (autouse: torn down after monkeypatch)."""
    from lab.settings import reload_settings

    yield
    reload_settings()


def run_lab(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """The `lab` CLI in a subprocess, as a user runs it (exit code, stdout, stderr), with extra env."""
    return subprocess.run([sys.executable, "-m", "lab.serve.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def shared(name: str) -> Path:
    path = SHARED_AUDIO / name
    if not path.exists():
        pytest.skip(f"{path} not found: the shared recordings live in ../shared/audio beside the repo")
    return path


def manifest() -> list[dict]:
    path = shared("manifest.csv")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def jfk() -> Path:
    return shared("jfk.flac")


@pytest.fixture()
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database of its own, for tests that depend on lifecycle state."""
    from db.session import reset_engines
    from lab.settings import reload_settings

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("LAB_DB_URL", url)
    monkeypatch.setenv("LAB_CLIPS_DIR", str(tmp_path / "clips"))
    reload_settings()
    reset_engines()
    yield url
    reset_engines()


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> str:
    """A throwaway PostgreSQL server for the session (LAB_TEST_PG_URL: use that one instead); its URL.

    Started from Debian's binaries as an unprivileged user in a temp dir; skipped, saying what to install,
    where they are missing."""
    if os.environ.get("LAB_TEST_PG_URL"):
        yield os.environ["LAB_TEST_PG_URL"]
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed: apt-get install postgresql (Debian's package)")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'model-lab[postgres]'")
    # initdb refuses to run as root: run the server as the postgres user when we are root, in a
    # folder that user can reach (pytest's own tmp folders are private to root)
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="lab-pg-"))
    root.chmod(0o777)
    data = root / "data"
    subprocess.run([*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    port = _free_port()
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-l", str(data.parent / "log"),
                    "-o", f"-p {port} -k {data.parent} -h 127.0.0.1 -F", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def new_pg_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    name = f"lab_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database of its own on each backend: SQLite, and a real PostgreSQL (skipped where none)."""
    from db.session import reset_engines
    from lab.settings import reload_settings

    if request.param == "postgresql":
        url = new_pg_database(request.getfixturevalue("pg_server"))
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("LAB_DB_URL", url)
    monkeypatch.setenv("LAB_CLIPS_DIR", str(tmp_path / "clips"))
    reload_settings()
    reset_engines()
    yield url
    reset_engines()


def write_manifest(path: Path, names: list[str]) -> Path:
    """A small manifest over some of the shared recordings (absolute paths are allowed)."""
    rows = {r["file"]: r for r in manifest()}
    lines = ["file,reference,language"]
    for n in names:
        ref = rows[n]["reference"].replace('"', '""')
        lines.append(f'{shared(n)},"{ref}",{rows[n]["language"]}')
    path.write_text("\n".join(lines) + "\n")
    return path
