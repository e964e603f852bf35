"""The runner keeps going when a model fails, and stores everything it got."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.audio import load_audio
from lab.loading import ModelCache
from lab.runner import Comparison, compare
from lab.store import get_run, list_runs
from tests import fake_engine


@pytest.fixture()
def fakes(tmp_path: Path) -> Iterator[list[str]]:
    with fake_engine.installed(tmp_path) as ids:
        yield ids


@pytest.mark.slow
def test_failing_engines_do_not_lose_the_other_results(fakes: list[str], jfk: Path) -> None:
    clip = load_audio(jfk)
    order = ["fake:crash", "fake:ok", "fake:oom", "fake:loadfail", "nope:missing", "fake:ok2"]
    comp = compare(clip, order, reference=fake_engine.TEXT, cache=ModelCache())
    res = {r.model: r for r in comp.results}
    assert [r.model for r in comp.results] == order
    assert res["fake:ok"].text == fake_engine.TEXT and res["fake:ok"].wer == 0.0
    assert res["fake:ok2"].ok
    assert "RuntimeError" in res["fake:crash"].error and "device-side assert" in res["fake:crash"].error
    assert "out of memory" in res["fake:oom"].error
    assert "failed to load" in res["fake:loadfail"].error and "truncated" in res["fake:loadfail"].error
    assert "unknown model id 'nope:missing'" in res["nope:missing"].error
    stored = get_run(comp.run_id)
    assert stored.status == "partial" and stored.errors == 4
    assert [r.model_id for r in stored.results] == order
    assert {r.model_id: r.error for r in stored.results}["fake:crash"] == res["fake:crash"].error


@pytest.mark.slow
def test_results_arrive_one_by_one_and_are_stored_as_they_come(fakes: list[str], jfk: Path) -> None:
    comp = Comparison(load_audio(jfk), ["fake:ok", "fake:crash"], cache=ModelCache())
    it = iter(comp)
    first = next(it)
    assert first.model == "fake:ok"
    mid = get_run(comp.run_id)  # stored before the second model runs
    assert mid.status == "running" and len(mid.results) == 1
    assert next(it).model == "fake:crash"
    with pytest.raises(StopIteration):
        next(it)
    assert get_run(comp.run_id).status == "partial"


def test_all_failed_run_is_marked_failed_and_listed(fakes: list[str], jfk: Path) -> None:
    comp = compare(load_audio(jfk), ["fake:crash"], cache=ModelCache())
    assert get_run(comp.run_id).status == "failed"
    assert list_runs(limit=1)[0].run_id == comp.run_id


def test_warm_up_is_reported_apart_from_latency(fakes: list[str], jfk: Path) -> None:
    cache = ModelCache()
    clip = load_audio(jfk)
    first = compare(clip, ["fake:ok"], cache=cache, store_run=False).results[0]
    second = compare(clip, ["fake:ok"], cache=cache, store_run=False).results[0]
    assert first.warmup_s is not None and not first.cached
    assert second.warmup_s is None and second.cached and second.load_s == first.load_s
    # the warm state belongs to the cache that loaded the model: another cache, or a reload, warms up again
    assert compare(clip, ["fake:ok"], cache=ModelCache(), store_run=False).results[0].warmup_s is not None
    cache.evict("fake:ok")
    assert compare(clip, ["fake:ok"], cache=cache, store_run=False).results[0].warmup_s is not None


def test_an_interrupted_evaluation_is_stored_as_partial(fakes: list[str], tmp_path: Path) -> None:
    from lab.eval.evaluate import evaluate
    from tests.conftest import write_manifest

    class Stop(Exception):
        pass

    def progress(done: int, total: int, what: str) -> None:
        if done == 1:
            raise Stop  # what a stopped dashboard page or Ctrl-C does mid-run

    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac", "beckett.wav"])
    with pytest.raises(Stop):
        evaluate(manifest, ["fake:ok"], cache=ModelCache(), progress=progress)
    newest = list_runs(limit=1)[0]
    assert newest.kind == "eval" and newest.status == "partial"
    assert len(get_run(newest.run_id).results) == 1  # the finished clip was kept
