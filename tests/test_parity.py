"""Same weights, four runtimes: `lab parity` must find them within half a WER point.

whisper.cpp runs its float16 file at "float32" (the packs' weights are float16, so the values are the same).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import manifest as rows
from tests.conftest import run_lab, write_manifest

FOUR = ["faster-whisper:tiny.en", "openai-whisper:tiny.en", "transformers:whisper-tiny.en", "whisper.cpp:tiny.en"]


@pytest.mark.slow
def test_parity_cli_four_runtimes_within_half_a_point(tmp_path: Path) -> None:
    # the shared English set: every English clip with a reference
    english = [r["file"] for r in rows() if r["language"] == "en" and r["reference"]]
    manifest = write_manifest(tmp_path / "m.csv", english)
    args = ["parity", str(manifest), "--json"]
    for m in FOUR:
        args += ["-m", m]
    p = run_lab(*args, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert [m["model"] for m in out["models"]] == FOUR
    assert all(m["errors"] == 0 and m["clips"] == len(english) for m in out["models"])
    assert out["wer_spread_points"] <= 0.5, out["models"]
    assert out["clips"] == len(english) == 4
    assert all(m["rtfx"] > 0 for m in out["models"])
