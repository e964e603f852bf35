"""The same storage on both backends (SQLite and a real PostgreSQL, conftest.backend_db): clips stored once
by sha256 with each uploader recorded, runs, results and the lifecycle."""

from __future__ import annotations

from pathlib import Path

from db.session import get_engine
from lab import lifecycle, store
from lab.audio import load_audio
from lab.settings import settings


def test_runs_results_and_lifecycle(backend_db: str, jfk: Path) -> None:
    engine = get_engine(settings().db_url)
    assert engine.dialect.name == backend_db.split(":")[0].split("+")[0]
    clip_id = store.save_clip(load_audio(jfk))
    run_id = store.start_run("compare", {"models": ["m"]}, {"cpu": "x"}, clip_id, "ref")
    store.add_result(run_id, {"model_id": "faster-whisper:tiny.en", "text": "hello", "wer": 0.25,
                              "segments": [{"start": 0.0, "end": 1.0, "text": "hello"}]})
    store.finish_run(run_id, "done", summary={"models": []})
    got = store.get_run(run_id)
    assert got.results[0].segments[0]["text"] == "hello" and got.clip == "jfk.flac"
    assert store.count_runs(store.RunFilter(model="faster-whisper:tiny.en")) == 1
    lifecycle.transition("pocketsphinx:en-us", "deprecated", "postgres check", actor="ci")
    assert lifecycle.state_of("pocketsphinx:en-us") == "deprecated"
    store.delete_run(run_id)
    assert store.count_runs() == 0


def test_the_same_audio_from_two_people_is_stored_once(backend_db: str, jfk: Path, tmp_path: Path) -> None:
    copy = tmp_path / "speech.flac"
    copy.write_bytes(jfk.read_bytes())
    first = store.save_clip(load_audio(jfk), uploader="Ana")
    second = store.save_clip(load_audio(copy), uploader="Bo")
    again = store.save_clip(load_audio(jfk), uploader="Ana")  # the same upload twice is recorded once
    assert first == second == again
    ups = store.clip_uploads(first)
    assert [(u.uploader, u.file_name) for u in ups] == [("Ana", "jfk.flac"), ("Bo", "speech.flac")]
    files = list(settings().clips_path.iterdir())
    assert [f.name for f in files] == [ups[0].path] and ups[0].path == f"{ups[0].sha256}.flac"
    assert files[0].read_bytes() == jfk.read_bytes()
    assert store.save_clip(load_audio(jfk)) == first
    assert store.clip_uploads(first)[-1].uploader == settings().user  # default: LAB_USER, else the OS user
