"""Streaming vs offline compute per second of audio, per model, side by side in one run.

    python bench/stream.py [--json] [--clip PATH] [--chunk-ms 500]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.audio import load_audio  # noqa: E402
from lab.live import stream_one  # noqa: E402

MODELS = ["faster-whisper:tiny.en", "pocketsphinx:en-us"]
CLIP = Path(__file__).resolve().parents[2] / "shared" / "audio" / "jfk.flac"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--clip", default=str(CLIP))
    p.add_argument("--chunk-ms", type=int, default=500)
    args = p.parse_args()
    clip = load_audio(args.clip)
    rows = []
    for model in MODELS:
        r = stream_one(clip, model, chunk_s=args.chunk_ms / 1000)
        stream_s = r.result.latency_s or 0.0
        offline_s = r.offline.latency_s or 0.0
        rows.append({"model": model, "audio_s": round(clip.duration_s, 2),
                     "stream_compute_per_audio_s": round(stream_s / clip.duration_s, 3),
                     "offline_compute_per_audio_s": round(offline_s / clip.duration_s, 3),
                     "ratio": round(stream_s / offline_s, 2) if offline_s else None, "error": r.error})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['model']}: stream {row['stream_compute_per_audio_s']} s/s, offline "
              f"{row['offline_compute_per_audio_s']} s/s (x{row['ratio']}) on {row['audio_s']} s")


if __name__ == "__main__":
    main()
