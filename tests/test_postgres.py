"""The same storage on PostgreSQL (LAB_DB_URL), against a real throwaway server started here."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from db.session import get_engine, reset_engines
from lab import lifecycle, store
from lab.audio import load_audio
from lab.settings import reload_settings, settings


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url() -> str:
    if os.environ.get("LAB_TEST_PG_URL"):
        yield os.environ["LAB_TEST_PG_URL"]
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="psycopg is not installed")
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


def test_runs_results_and_lifecycle_on_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                jfk: Path) -> None:
    monkeypatch.setenv("LAB_DB_URL", pg_url)
    monkeypatch.setenv("LAB_CLIPS_DIR", str(tmp_path / "clips"))
    reload_settings()
    reset_engines()
    try:
        engine = get_engine(settings().db_url)
        assert engine.dialect.name == "postgresql"
        clip_id = store.save_clip(load_audio(jfk))
        run_id = store.start_run("compare", {"models": ["m"]}, {"cpu": "x"}, clip_id, "ref")
        store.add_result(run_id, {"model_id": "faster-whisper:tiny.en", "text": "hello", "wer": 0.25,
                                  "segments": [{"start": 0.0, "end": 1.0, "text": "hello"}]})
        store.finish_run(run_id, "done", summary={"models": []})
        got = store.get_run(run_id)
        assert got.results[0].segments[0]["text"] == "hello" and got.clip == "jfk.flac"
        assert store.count_runs(store.RunFilter(model="faster-whisper:tiny.en")) >= 1
        lifecycle.transition("pocketsphinx:en-us", "deprecated", "postgres check", actor="ci")
        assert lifecycle.state_of("pocketsphinx:en-us") == "deprecated"
        store.delete_run(run_id)
    finally:
        reset_engines()
