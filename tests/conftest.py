"""Shared fixtures. Every test session gets its own SQLite file, clips folder and weights cache."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
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


def write_manifest(path: Path, names: list[str]) -> Path:
    """A small manifest over some of the shared recordings (absolute paths are allowed)."""
    rows = {r["file"]: r for r in manifest()}
    lines = ["file,reference,language"]
    for n in names:
        ref = rows[n]["reference"].replace('"', '""')
        lines.append(f'{shared(n)},"{ref}",{rows[n]["language"]}')
    path.write_text("\n".join(lines) + "\n")
    return path
