"""The same Whisper weights in three runtimes, timed side by side in one run.

Greedy decoding, same audio, same threads; each model loaded once and warmed up (excluded), then
repetitions interleaved across runtimes so machine drift hits all alike; medians reported, with
each runtime's speed relative to the first.

    python bench/runtimes.py [--file AUDIO] [-m ID ...] [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.audio import load_audio  # noqa: E402
from lab.engines.base import AsrOptions  # noqa: E402
from lab.loading import ModelCache, default_threads  # noqa: E402
from lab.runner import transcribe_one  # noqa: E402

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "audio" / "jfk.flac"
DEFAULT_MODELS = ["faster-whisper:tiny.en", "openai-whisper:tiny.en", "transformers:whisper-tiny.en"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("-m", "--model", action="append", dest="models")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compute-type", default="float32", help="same precision everywhere for a fair race")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = args.models or DEFAULT_MODELS
    clip = load_audio(args.file)
    options = AsrOptions(beam_size=1, word_timestamps=False)
    cache = ModelCache()
    first = {m: transcribe_one(clip, m, options=options, cache=cache, compute_type=args.compute_type) for m in models}
    failed = {m: r.error for m, r in first.items() if not r.ok}
    if failed:
        sys.exit(f"cannot bench: {failed}")
    times: dict[str, list[float]] = {m: [] for m in models}
    for _ in range(args.reps):
        for m in models:
            r = transcribe_one(clip, m, options=options, cache=cache, compute_type=args.compute_type, warmup=False)
            times[m].append(r.latency_s)
    med = {m: statistics.median(t) for m, t in times.items()}
    ref = med[models[0]]
    out = {"file": args.file.name, "audio_s": clip.duration_s, "threads": default_threads(), "reps": args.reps,
           "compute_type": args.compute_type,
           "models": [{"model": m, "median_s": med[m], "rtfx": clip.duration_s / med[m], "vs_first": med[m] / ref,
                       "load_s": first[m].load_s, "warmup_s": first[m].warmup_s, "text": first[m].text}
                      for m in models]}
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.file.name} ({clip.duration_s:.1f} s), greedy, {args.compute_type}, {out['threads']} threads, "
          f"{args.reps} interleaved reps, medians (warm-up excluded)")
    for row in out["models"]:
        print(f"  {row['model']:32} {row['median_s'] * 1000:8.1f} ms  RTFx {row['rtfx']:6.1f}  "
              f"x{row['vs_first']:.2f} vs {models[0]}  (load {row['load_s']:.2f} s)")


if __name__ == "__main__":
    main()
