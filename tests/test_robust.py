"""Nothing lost, nothing stuck, work bounded: decoding options refused in the core, runs whose process died
marked interrupted (results kept), SIGTERM handled, migrations safe when processes start together, output
paths and manifests checked before any work, and the dashboard's shared-screen defaults."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from lab import store
from lab.audio import MAX_UPLOAD_MB
from lab.engines.base import AsrOptions
from lab.errors import OptionError
from lab.store import liveness
from tests.conftest import REPO, run_lab, shared, write_manifest

TINY, SPHINX = "faster-whisper:tiny.en", "pocketsphinx:en-us"


def _db_env(tmp_path: Path, name: str = "lab.sqlite") -> tuple[dict[str, str], Path]:
    path = tmp_path / name
    return {"LAB_DB_URL": f"sqlite:///{path}", "LAB_CLIPS_DIR": str(tmp_path / "clips")}, path


def _rows(db: Path, sql: str) -> list[tuple]:
    """Read the database as an outsider would (no lab code), [] while it has no tables yet."""
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def _one_line_exit_2(p: subprocess.CompletedProcess, words: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr
    assert words in p.stderr, p.stderr


# --- bounded work -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"beam_size": 0}, {"beam_size": -5}, {"beam_size": 10000}, {"beam_size": 11},
                                    {"beam_size": True}, {"max_new_tokens": 0}, {"language": "xx"},
                                    {"language": "english"}, {"language": ""}])
def test_out_of_range_options_are_refused_in_the_core(kwargs: dict) -> None:
    with pytest.raises(OptionError) as e:
        AsrOptions(**kwargs)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kwargs", [{}, {"beam_size": 1}, {"beam_size": 10}, {"language": "en"},
                                    {"language": "en-US"}, {"language": "zh_TW"}, {"language": "yue"},
                                    {"language": "eng"}, {"max_new_tokens": 5}])
def test_in_range_options_are_accepted(kwargs: dict) -> None:
    assert AsrOptions(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("args,words", [
    (["--beam-size", "0"], "beam size"), (["--beam-size", "-5"], "beam size"),
    (["--beam-size", "10000"], "beam size"), (["--language", "xx"], "unknown language code 'xx'"),
])
def test_cli_refuses_bad_options_before_any_run(tmp_path: Path, args: list[str], words: str) -> None:
    env, db = _db_env(tmp_path)
    _one_line_exit_2(run_lab("transcribe", str(shared("jfk.flac")), "-m", TINY, *args, env=env), words)
    assert _rows(db, "SELECT id FROM runs") == []


# --- runs whose owner is gone ------------------------------------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _set_owner(run_id: int, host: str, pid: int, age: timedelta = timedelta(0)) -> None:
    from db.models import Run

    with store.session() as s:
        run = s.get(Run, run_id)
        run.owner_host, run.owner_pid, run.heartbeat_at = host, pid, liveness.now() - age
        s.add(run)
        s.commit()


def test_runs_whose_owner_is_gone_are_marked_interrupted_with_results_kept(fresh_db: str) -> None:
    here = socket.gethostname()
    dead = store.start_run("compare", {}, machine={})
    store.add_result(dead, {"model_id": TINY, "text": "kept"})
    _set_owner(dead, here, _dead_pid())
    mine = store.start_run("compare", {}, machine={})  # this process: alive
    elsewhere = store.start_run("compare", {}, machine={})
    _set_owner(elsewhere, "another-host", 1)  # cannot check its pid, heartbeat fresh: alive
    silent = store.start_run("compare", {}, machine={})
    _set_owner(silent, "another-host", 1, age=liveness.STALE_AFTER + timedelta(minutes=1))
    done = store.start_run("compare", {}, machine={})
    _set_owner(done, here, _dead_pid())
    store.finish_run(done, "done")

    assert sorted(store.mark_interrupted_runs()) == sorted([dead, silent])
    assert {r: store.get_run(r).status for r in (dead, mine, elsewhere, silent, done)} == {
        dead: "interrupted", mine: "running", elsewhere: "running", silent: "interrupted", done: "done"}
    assert [r.text for r in store.get_run(dead).results] == ["kept"]
    assert store.mark_interrupted_runs() == []
    store.finish_run(mine, "done")
    store.finish_run(elsewhere, "done")


def test_start_run_records_its_owner_and_results_refresh_the_heartbeat(fresh_db: str) -> None:
    from db.models import Run

    run_id = store.start_run("compare", {}, machine={})
    _set_owner(run_id, socket.gethostname(), os.getpid(), age=timedelta(minutes=5))
    store.add_result(run_id, {"model_id": TINY, "text": "x"})
    with store.session() as s:
        run = s.get(Run, run_id)
    assert (run.owner_host, run.owner_pid) == (socket.gethostname(), os.getpid())
    assert liveness.now() - store.aware(run.heartbeat_at) < timedelta(minutes=1)
    assert store.interrupt_own_runs() == [run_id] and store.get_run(run_id).status == "interrupted"


def _start_transcribe(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """`lab transcribe` of the long clip: tiny.en first (a result soon), then PocketSphinx (slow)."""
    env, db = _db_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "lab.serve.cli", "transcribe", str(shared("two_cities.wav")),
                             "-m", TINY, "-m", SPHINX, "--json"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, db


def _wait_for(db: Path, sql: str, proc: subprocess.Popen) -> None:
    while not _rows(db, sql):
        assert proc.poll() is None, f"lab exited early: {proc.stderr.read()}"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_run_then_restart_marks_it_interrupted_with_results_kept(tmp_path: Path) -> None:
    proc, db = _start_transcribe(tmp_path)
    try:
        _wait_for(db, "SELECT id FROM results", proc)  # tiny.en finished, PocketSphinx running
    finally:
        proc.kill()
        proc.wait()
    assert _rows(db, "SELECT status FROM runs") == [("running",)]

    env, _ = _db_env(tmp_path)
    p = run_lab("history", "--json", env=env)
    assert p.returncode == 0, p.stderr
    assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert ("faster-whisper:tiny.en",) in _rows(db, "SELECT model_id FROM results")


@pytest.mark.slow
def test_sigterm_mid_run_marks_it_and_exits_promptly(tmp_path: Path) -> None:
    proc, db = _start_transcribe(tmp_path)
    try:
        _wait_for(db, "SELECT id FROM runs WHERE status = 'running'", proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)  # the CLI gives itself a few seconds; the bound here allows for a loaded CPU
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 143, proc.stderr.read()
    assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert "interrupted" in proc.stderr.read()


# --- migrations when processes start together ---------------------------------------------------------------

@pytest.mark.slow
def test_processes_starting_on_a_new_database_together_all_succeed(tmp_path: Path) -> None:
    for round_ in range(3):
        env, db = _db_env(tmp_path, f"race{round_}.sqlite")
        procs = [subprocess.Popen([sys.executable, "-m", "lab.serve.cli", "history", "--json"],
                                  env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        outs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        assert [(rc, out.strip()) for rc, out, _ in outs] == [(0, "[]")] * 3, [err for *_, err in outs]
        assert _rows(db, "SELECT count(*) FROM alembic_version") == [(1,)]


# --- bad input refused before work --------------------------------------------------------------------------

@pytest.mark.slow
def test_output_into_a_missing_folder_is_refused_before_any_run(tmp_path: Path) -> None:
    env, db = _db_env(tmp_path)
    missing = tmp_path / "missing_dir"
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac"])
    config = tmp_path / "regress.yaml"
    config.write_text(f"datasets: [{manifest}]\nmodels: [{TINY}]\nthresholds: {{max_wer: 0.5}}\n")
    for args in (["synthesize", "hello", "-m", "hibari:en", "-o", str(missing / "x.wav")],
                 ["report", "1", "-o", str(missing / "r.html")],
                 ["regress", str(config), "-o", str(missing / "r.json")],
                 ["robustness", str(manifest), "-m", TINY, "-o", str(missing / "sub" / "set")]):
        _one_line_exit_2(run_lab(*args, env=env), "does not exist")
    assert not missing.exists()
    assert _rows(db, "SELECT id FROM runs") == []


@pytest.mark.slow
def test_eval_with_missing_files_exits_2_listing_them_unless_skip_missing(tmp_path: Path) -> None:
    env, db = _db_env(tmp_path)
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac"])
    manifest.write_text(manifest.read_text() + "gone.wav,hello,en\nalso_gone.flac,hi,en\n")
    _one_line_exit_2(run_lab("eval", str(manifest), "-m", TINY, env=env), "2 file(s) missing")
    assert _rows(db, "SELECT id FROM runs") == []

    p = run_lab("eval", str(manifest), "-m", TINY, "--skip-missing", "--json", env=env)
    assert p.returncode == 0, p.stderr
    assert _rows(db, "SELECT count(*) FROM results") == [(1,)]


# --- the dashboard on a shared screen -----------------------------------------------------------------------

def test_streamlit_config_is_safe_for_a_shared_machine() -> None:
    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert cfg["browser"]["gatherUsageStats"] is False


@pytest.mark.slow
def test_streamlit_run_from_the_repo_root_binds_localhost_only(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env, _ = _db_env(tmp_path)
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless",
                                 "true", "--server.port", str(port)], cwd=REPO, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        listening: list = []
        while not listening:
            assert proc.poll() is None, log.read_text()
            listening = [c.laddr for c in psutil.Process(proc.pid).net_connections()
                         if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
            time.sleep(0.1)
        assert {a.ip for a in listening} == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "inotify" not in log.read_text().lower()


@pytest.mark.slow
def test_a_punctuation_only_reference_is_not_scored_and_the_cli_says_why(tmp_path: Path) -> None:
    env, db = _db_env(tmp_path)
    p = run_lab("transcribe", str(shared("jfk.flac")), "-m", TINY, "--ref", "...", env=env)
    assert p.returncode == 0, p.stderr
    assert "wer=- cer=-" in p.stdout and "note: reference is empty after normalisation" in p.stdout
    assert "punctuation only" in _rows(db, "SELECT extra FROM results")[0][0]
