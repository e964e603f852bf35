"""Regenerate the project's own small sample set: hibari (Apache-2.0) reading Harvard sentences.

    python data/samples/make_samples.py

Synthetic speech is clean and licence-free; it checks the plumbing and gives the dashboard a
sample set that ships with the repo. Real human recordings for accuracy live in ../shared/audio.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab.tts import synthesize_one  # noqa: E402

HERE = Path(__file__).resolve().parent
SENTENCES = {
    "harvard_01.flac": "The birch canoe slid on the smooth planks.",
    "harvard_02.flac": "Glue the sheet to the dark blue background.",
    "harvard_03.flac": "It's easy to tell the depth of a well.",
}


def to_flac(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def main() -> None:
    rows = []
    for name, text in SENTENCES.items():
        r = synthesize_one(text, "hibari:en")
        if r.error:
            sys.exit(r.error)
        (HERE / name).write_bytes(to_flac(r.samples, r.sample_rate))
        rows.append({"file": name, "reference": text, "language": "en", "speakers": 1, "tags": "synthetic;hibari"})
    with (HERE / "manifest.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "reference", "language", "speakers", "tags"])
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
