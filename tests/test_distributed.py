"""Evaluation spread over worker processes and a real local Ray: the same transcripts and WER as one process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_lab, write_manifest

from lab import store
from lab.eval.distributed import RAY_HINT, ModelActor, PoolExecutor, RayExecutor, actor_shares
from lab.eval.evaluate import evaluate

MODEL = "faster-whisper:tiny.en"
CLIPS = ["jfk.flac", "beckett.wav", "stereo_diarization.wav"]


@pytest.fixture(scope="module")
def local_ray():  # noqa: ANN201 - one local Ray for the module, on the 2 cores this machine has
    ray = pytest.importorskip("ray", reason=RAY_HINT)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def _per_clip(report) -> list[tuple]:  # noqa: ANN001
    return [(c["file"], c[MODEL]["text"], c[MODEL]["wer"], c[MODEL]["error"]) for c in report.per_clip]


def test_actor_shares_fit_the_node() -> None:
    assert actor_shares(2, 1) == (2, 2)  # one model: both cores, two engine threads
    assert actor_shares(2, 2) == (1, 1)
    threads, reserve = actor_shares(2, 3)  # more models than cores: one thread each, CPUs shared out
    assert threads == 1 and 3 * reserve <= 2


@pytest.mark.slow
def test_ray_and_workers_give_the_local_results(local_ray, tmp_path: Path) -> None:  # noqa: ANN001
    manifest = write_manifest(tmp_path / "m.csv", CLIPS)
    local = evaluate(manifest, [MODEL])
    on_ray = evaluate(manifest, [MODEL], executor=RayExecutor())
    pooled = evaluate(manifest, [MODEL], executor=PoolExecutor(2))
    assert _per_clip(on_ray) == _per_clip(local) == _per_clip(pooled)
    assert on_ray.model(MODEL).wer == local.model(MODEL).wer == pooled.model(MODEL).wer
    stored = store.get_run(on_ray.run_id)
    assert stored.status == "done" and len(stored.results) == len(CLIPS)
    assert stored.settings["execution"] == {"mode": "ray", "address": "local"}
    assert store.get_run(pooled.run_id).settings["execution"]["workers"] == 2
    assert {r.threads for r in store.get_run(pooled.run_id).results} == {1}  # 2 workers × 1 thread on 2 cores


@pytest.mark.slow
def test_a_dead_actor_is_retried_and_a_failing_clip_recorded(local_ray, tmp_path: Path) -> None:  # noqa: ANN001
    manifest = write_manifest(tmp_path / "m.csv", CLIPS)
    marker = tmp_path / "died"

    class Flaky(ModelActor):  # defined here, so Ray ships it to the workers by value
        """Dies on the first clip once (Ray restarts it), always raises on the second."""

        def run(self, job, clip):  # noqa: ANN001, ANN201
            if job.index == 0 and not marker.exists():
                marker.touch()
                os._exit(1)
            if job.index == 1:
                raise RuntimeError("this clip always fails")
            return super().run(job, clip)

    report = evaluate(manifest, [MODEL], executor=RayExecutor(actor=Flaky))
    results = report.results[MODEL]
    assert (tmp_path / "died").exists()  # the actor did die once
    assert results[0].ok and results[2].ok  # retried on the restarted actor
    assert "failed twice" in results[1].error and "this clip always fails" in results[1].error
    stored = store.get_run(report.run_id)
    assert stored.status == "partial" and len(stored.results) == len(CLIPS)


@pytest.mark.slow
def test_cli_eval_workers_and_ray_forms(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.csv", CLIPS[:1])
    both = run_lab("eval", str(manifest), "-m", MODEL, "--workers", "2", "--ray")
    assert both.returncode == 2 and both.stderr.strip() == "lab: give either --ray or --workers, not both."
    done = run_lab("eval", str(manifest), "-m", MODEL, "--workers", "2", "--json")
    assert done.returncode == 0, done.stderr
    before = store.count_runs()
    unreachable = run_lab("eval", str(manifest), "-m", MODEL, "--ray", "127.0.0.1:9")  # nothing listens there
    assert unreachable.returncode == 2 and unreachable.stderr.startswith("lab: cannot reach the Ray cluster at "), \
        unreachable.stderr
    assert store.count_runs() == before  # no run stored for an evaluation that never started


def test_without_ray_the_switch_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.errors import LabError
    from lab.eval import distributed
    from lab.serve import cli

    monkeypatch.setattr(distributed, "ray_available", lambda: False)
    with pytest.raises(LabError, match=r"pip install 'model-lab\[ray\]'"):
        cli._executor("local", None)
    assert cli.optional_value(["eval", "m.csv", "--ray"], "--ray", "local") == ["eval", "m.csv", "--ray", "local"]
    assert cli.optional_value(["eval", "--ray", "head:6379", "m.csv"], "--ray", "local")[2] == "head:6379"
