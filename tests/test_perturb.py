"""Robustness sets: deterministic, the perturbation they claim, and WER that degrades with noise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from lab.audio import load_audio
from lab.eval.perturb import PERTURBATIONS, perturb_dataset, robustness
from tests.conftest import write_manifest


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    d = tmp_path_factory.mktemp("perturb")
    manifest = write_manifest(d / "m.csv", ["jfk.flac"])
    a = perturb_dataset(manifest, d / "a", seed=7).manifest.parent
    b = perturb_dataset(manifest, d / "b", seed=7).manifest.parent
    c = perturb_dataset(manifest, d / "c", seed=8).manifest.parent
    return manifest, a, b, c


def test_same_seed_same_files_other_seed_other_noise(sets) -> None:  # noqa: ANN001
    _, a, b, c = sets
    names = sorted(p.name for p in a.glob("*.wav"))
    assert len(names) == 1 + len(PERTURBATIONS)
    assert all(sha(a / n) == sha(b / n) for n in names)
    assert sha(a / "jfk__white_snr10.wav") != sha(c / "jfk__white_snr10.wav")
    assert sha(a / "jfk__speed_1.1.wav") == sha(c / "jfk__speed_1.1.wav")  # no randomness in speed


def test_perturbations_do_what_they_say(sets) -> None:  # noqa: ANN001
    _, a, _, _ = sets
    clean = load_audio(a / "jfk__clean.wav").samples
    noisy = load_audio(a / "jfk__white_snr10.wav").samples
    snr = 10 * np.log10(np.mean(clean ** 2) / np.mean((noisy - clean) ** 2))
    assert snr == pytest.approx(10, abs=0.5)
    fast = load_audio(a / "jfk__speed_1.1.wav")
    assert fast.duration_s == pytest.approx(11.0 / 1.1, abs=0.05)
    tel = load_audio(a / "jfk__telephone_8k.wav").samples
    spec = np.abs(np.fft.rfft(tel)) ** 2
    freqs = np.fft.rfftfreq(tel.size, 1 / 16000)
    assert spec[freqs > 4200].sum() / spec.sum() < 1e-3
    clipped = load_audio(a / "jfk__clipping.wav").samples
    assert np.mean(np.abs(clipped) >= 0.89) > 0.05


@pytest.mark.slow
def test_wer_degrades_with_babble(sets, tmp_path: Path) -> None:  # noqa: ANN001
    manifest = sets[0]
    report, curves = robustness(manifest, ["faster-whisper:tiny.en"], tmp_path / "r", seed=0,
                                names=["white_snr20", "babble_snr0"])
    wer = curves["faster-whisper:tiny.en"]
    assert set(wer) == {"clean", "white_snr20", "babble_snr0"}
    assert wer["clean"] <= 0.05 and wer["babble_snr0"] > wer["clean"] + 0.2  # measured: 0.0 vs 1.3
    assert report.run_id is not None
