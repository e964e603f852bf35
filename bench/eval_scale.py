"""Clips per second for one evaluation, three ways side by side on the shared set: sequential (one process,
all physical cores as threads: 1×N), `--workers N` (N single-threaded processes: N×1) and a local Ray (one
actor per model). Per model, so it shows which layout suits which engine on this machine.

Wall time of `evaluate` (nothing stored): model loads and worker start-up included, as a user waits for them;
Ray's own start is timed apart. `same_as_sequential` says whether each layout gave the sequential transcripts.

    python bench/eval_scale.py [--manifest M] [-m ID ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.eval.distributed import PoolExecutor, RayExecutor, physical_cores, ray_available  # noqa: E402
from lab.eval.evaluate import ClipExecutor, EvalReport, evaluate, load_dataset  # noqa: E402
from lab.loading import ModelCache  # noqa: E402

DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "audio" / "manifest.csv"


def timed(manifest: Path, model: str, executor: ClipExecutor | None) -> tuple[float, EvalReport]:
    start = time.perf_counter()
    report = evaluate(manifest, [model], cache=ModelCache(), store_run=False, executor=executor)
    return time.perf_counter() - start, report


def texts(report: EvalReport, model: str) -> list:
    return [(c["file"], c[model]["text"], c[model]["error"]) for c in report.per_clip]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    ap.add_argument("-m", "--model", action="append", dest="models")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = args.models or ["faster-whisper:tiny.en", "pocketsphinx:en-us"]
    cores = physical_cores()
    os.environ["LAB_THREADS"] = str(cores)  # the sequential path: one process, every core as a thread
    ds = load_dataset(args.manifest)
    out: dict = {"manifest": str(args.manifest), "cores": cores, "models": {}}
    ray_start = None
    if ray_available():
        import ray

        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=cores, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_start = out["ray_start_s"] = round(time.perf_counter() - t0, 2)
    for model in models:
        layouts = {f"sequential 1x{cores}": None, f"workers {cores}x1": PoolExecutor(cores)}
        if ray_start is not None:
            layouts["local ray"] = RayExecutor()
        row, reference = {}, None
        for name, executor in layouts.items():
            wall, report = timed(ds, model, executor)
            ran = sum(1 for c in report.per_clip if not c[model]["skipped"])
            reference = reference or texts(report, model)
            row[name] = {"clips": ran, "wall_s": round(wall, 2), "clips_per_s": round(ran / wall, 3),
                         "wer": report.model(model).wer, "same_as_sequential": texts(report, model) == reference}
        out["models"][model] = row
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.manifest} on {cores} physical cores" + (f"; Ray started in {ray_start} s" if ray_start else ""))
    for model, row in out["models"].items():
        for name, r in row.items():
            print(f"{model:24} {name:16} {r['clips']} clips in {r['wall_s']:6.2f} s = {r['clips_per_s']:.3f} clips/s "
                  f"(WER {r['wer']:.3f}{'' if r['same_as_sequential'] else ', transcripts differ from sequential'})")


if __name__ == "__main__":
    main()
