"""Robustness sets: deterministic perturbed copies of a dataset, and WER per perturbation per model.

White noise and babble-like noise at SNR 20/10/5/0 dB, speed 0.9/1.1 (pitch moves with speed, as in
Kaldi-style speed perturbation), 8 kHz telephone band (300-3400 Hz), and hard clipping. The same
seed gives the same files bit for bit.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.audio import SAMPLE_RATE, resample, to_wav_bytes
from lab.errors import LabError
from lab.eval.evaluate import Dataset, EvalReport, Progress, decode_dataset, evaluate, load_dataset
from lab.loading import ModelCache

SNRS = (20, 10, 5, 0)
Perturb = Callable[[np.ndarray, np.random.Generator, list[np.ndarray]], np.ndarray]


def _scale_to_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps = float(np.mean(speech.astype(np.float64) ** 2))
    pn = float(np.mean(noise.astype(np.float64) ** 2)) or 1e-12
    return noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))


def _white(snr: float) -> Perturb:
    def f(x: np.ndarray, rng: np.random.Generator, _pool: list[np.ndarray]) -> np.ndarray:
        return x + _scale_to_snr(x, rng.standard_normal(x.size).astype(np.float32), snr)

    return f


def _babble_noise(n: int, rng: np.random.Generator, pool: list[np.ndarray], talkers: int = 6) -> np.ndarray:
    """Several overlapping voices: random, time-reversed stretches of the dataset's own speech."""
    out = np.zeros(n, np.float32)
    for _ in range(talkers):
        src = pool[rng.integers(len(pool))][::-1]
        start = rng.integers(max(1, src.size))
        piece = np.resize(np.roll(src, -int(start)), n)  # wraps around for short sources
        out += piece / (np.sqrt(np.mean(piece ** 2)) + 1e-9)
    return out


def _babble(snr: float) -> Perturb:
    def f(x: np.ndarray, rng: np.random.Generator, pool: list[np.ndarray]) -> np.ndarray:
        return x + _scale_to_snr(x, _babble_noise(x.size, rng, pool), snr)

    return f


def _speed(factor: float) -> Perturb:
    def f(x: np.ndarray, _rng: np.random.Generator, _pool: list[np.ndarray]) -> np.ndarray:
        # play the samples back `factor` times faster: treat them as recorded at rate*factor
        return resample(x, int(SAMPLE_RATE * factor), SAMPLE_RATE)

    return f


def _telephone(x: np.ndarray, _rng: np.random.Generator, _pool: list[np.ndarray]) -> np.ndarray:
    import torch
    import torchaudio.functional as F

    narrow = resample(x, SAMPLE_RATE, 8000)  # the 8 kHz resampler's low-pass keeps < 4 kHz
    narrow = F.highpass_biquad(torch.from_numpy(narrow), 8000, 300.0)
    narrow = F.lowpass_biquad(narrow, 8000, 3400.0).numpy()
    return resample(narrow, 8000, SAMPLE_RATE)


def _clipping(x: np.ndarray, _rng: np.random.Generator, _pool: list[np.ndarray]) -> np.ndarray:
    peak = float(np.max(np.abs(x))) or 1.0
    return np.clip(x * (4.0 / peak), -1.0, 1.0) * 0.9  # drive 12 dB into the rails


PERTURBATIONS: dict[str, Perturb] = {
    **{f"white_snr{s}": _white(s) for s in SNRS},
    **{f"babble_snr{s}": _babble(s) for s in SNRS},
    "speed_0.9": _speed(0.9),
    "speed_1.1": _speed(1.1),
    "telephone_8k": _telephone,
    "clipping": _clipping,
}


@dataclass(frozen=True)
class PerturbedSet:
    manifest: Path
    files: int
    perturbations: list[str]


def perturb_dataset(dataset: Dataset | str | Path, out_dir: str | Path, seed: int = 0,
                    names: list[str] | None = None) -> PerturbedSet:
    """Write perturbed WAVs and a manifest (with a `tags` column naming the perturbation)."""
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    names = names or list(PERTURBATIONS)
    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown:
        raise LabError(f"unknown perturbations {unknown}; known: {', '.join(PERTURBATIONS)}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    clips: list[tuple] = [(r, c) for r, c in decode_dataset(ds, notes) if r.reference]
    if not clips:
        raise LabError(f"{ds.path}: no decodable clips with a reference to perturb.")
    pool = [c.samples for _, c in clips]
    rows = []
    for row, clip in clips:
        rows.append((f"{Path(row.name).stem}__clean.wav", row, "clean", clip.samples))
        for name in names:
            rng = np.random.default_rng(_seed(seed, row.name, name))  # per file: order-independent
            y = PERTURBATIONS[name](clip.samples, rng, pool).astype(np.float32)
            rows.append((f"{Path(row.name).stem}__{name}.wav", row, name, y))
    with (out / "manifest.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "reference", "language", "speakers", "tags"])
        for fname, row, tag, samples in rows:
            peak = float(np.max(np.abs(samples))) or 1.0
            (out / fname).write_bytes(to_wav_bytes(samples / max(1.0, peak)))  # no extra clipping on write
            w.writerow([fname, row.reference, row.language or "", row.speakers or "", tag])
    return PerturbedSet(out / "manifest.csv", len(rows), ["clean", *names])


def _seed(seed: int, name: str, perturbation: str) -> int:
    digest = hashlib.sha256(f"{seed}:{name}:{perturbation}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def wer_by_tag(report: EvalReport) -> dict[str, dict[str, float | None]]:
    """model → tag → corpus WER over the clips with that tag (the curve the dashboard plots)."""
    from lab.metrics import corpus_score

    ds = load_dataset(report.dataset)
    tag_of = {r.name: (r.tags[0] if r.tags else "clean") for r in ds.rows}
    out: dict[str, dict[str, float | None]] = {}
    for model, results in report.results.items():
        by_tag: dict[str, list] = {}
        for clip_entry, r in zip(report.per_clip, results, strict=True):
            if r.score is not None:
                by_tag.setdefault(tag_of[clip_entry["file"]], []).append(r.score)
        out[model] = {tag: corpus_score(scores).wer for tag, scores in by_tag.items()}
    return out


def robustness(dataset: Dataset | str | Path, model_ids: list[str], out_dir: str | Path, seed: int = 0,
               names: list[str] | None = None, cache: ModelCache | None = None,
               progress: Progress | None = None) -> tuple[EvalReport, dict[str, dict[str, float | None]]]:
    """Perturb, evaluate every model on the perturbed set (stored as kind 'robustness'), WER per tag."""
    pset = perturb_dataset(dataset, out_dir, seed, names)
    report = evaluate(pset.manifest, model_ids, cache=cache, progress=progress, kind="robustness")
    return report, wer_by_tag(report)

