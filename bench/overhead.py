"""What the lab adds on top of faster-whisper: the lab's path vs a bare WhisperModel.transcribe.

Same audio, same settings, same threads; repetitions interleaved (lab, bare, lab, bare, ...) so
drift in machine load hits both; medians reported. Warm-up runs of each are excluded. Also times
re-acquiring an already loaded model from the cache. Targets: ratio <= 1.05, re-acquire <= 10 ms.

    python bench/overhead.py [--file AUDIO] [--model faster-whisper:tiny.en] [--reps 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.audio import load_audio  # noqa: E402
from lab.engines.base import AsrOptions  # noqa: E402
from lab.loading import ModelCache, default_threads  # noqa: E402
from lab.runner import transcribe_one  # noqa: E402

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "audio" / "jfk.flac"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--model", default="faster-whisper:tiny.en")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from faster_whisper import WhisperModel

    clip = load_audio(args.file)
    options = AsrOptions(beam_size=5, word_timestamps=True)
    cache = ModelCache()
    loaded = cache.acquire(args.model)
    cfg, path = loaded.engine.config, loaded.engine.weights.path
    bare = WhisperModel(str(path), device=cfg.device, compute_type=cfg.compute_type, cpu_threads=cfg.threads)

    def run_lab() -> float:
        start = time.perf_counter()
        r = transcribe_one(clip, args.model, options=options, cache=cache, warmup=False)
        elapsed = time.perf_counter() - start
        assert r.ok, r.error
        return elapsed

    def run_bare() -> float:
        start = time.perf_counter()
        segments, _ = bare.transcribe(clip.samples, language="en", beam_size=5, word_timestamps=True,
                                      condition_on_previous_text=False)
        list(segments)
        return time.perf_counter() - start

    warm = {"lab_s": run_lab(), "bare_s": run_bare()}  # excluded from the medians
    lab_t, bare_t = [], []
    for _ in range(args.reps):
        lab_t.append(run_lab())
        bare_t.append(run_bare())
    reacq = []
    for _ in range(200):
        start = time.perf_counter()
        cache.acquire(args.model)
        reacq.append(time.perf_counter() - start)

    out = {
        "lab_s": statistics.median(lab_t),
        "bare_s": statistics.median(bare_t),
        "ratio": statistics.median(lab_t) / statistics.median(bare_t),
        "reacquire_ms": statistics.median(reacq) * 1000,
        "model": args.model, "file": args.file.name, "audio_s": clip.duration_s, "reps": args.reps,
        "threads": default_threads(), "device": cfg.device, "compute_type": cfg.compute_type,
        "load_s": loaded.load_s, "warmup": warm,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.model} on {args.file.name} ({clip.duration_s:.1f} s audio), {cfg.device}/{cfg.compute_type}, "
          f"{cfg.threads} threads, {args.reps} interleaved reps, medians (warm-up excluded)")
    print(f"  lab path     {out['lab_s'] * 1000:8.1f} ms   runs: {', '.join(f'{t * 1000:.0f}' for t in lab_t)}")
    print(f"  bare model   {out['bare_s'] * 1000:8.1f} ms   runs: {', '.join(f'{t * 1000:.0f}' for t in bare_t)}")
    print(f"  ratio        {out['ratio']:8.3f}      (target <= 1.05)")
    print(f"  re-acquire   {out['reacquire_ms']:8.3f} ms   (target <= 10 ms, median of 200)")


if __name__ == "__main__":
    main()
