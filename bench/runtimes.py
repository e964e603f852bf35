"""The same Whisper weights in four runtimes, timed side by side in one run, with the price of each.

Rows: every runtime at one precision (float32: the parity setting; whisper.cpp loads its float16
file there, see lab/engines/whisper_cpp.py), then each runtime that has a faster CPU setting at that
setting (int8 for CTranslate2, q8_0 for whisper.cpp), so a user sees what precision buys.

Greedy decoding, same audio, same threads; each row loaded once and warmed up (excluded), then
repetitions interleaved across rows so machine drift hits all alike; medians reported, with each
row's speed relative to the first. Load time is the loader's, apart from inference. Peak memory is
measured per row in a fresh process: once the runtime's modules are imported the kernel's peak RSS
(VmHWM) is reset, then the model is loaded and transcribes once; the new peak minus the RSS before
is the row's price (Linux only: it needs /proc/self/clear_refs).

    python bench/runtimes.py [--file AUDIO] [-m ID ...] [--reps 3] [--no-best] [--json]
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.audio import load_audio  # noqa: E402
from lab.engines.base import AsrOptions  # noqa: E402
from lab.loading import ModelCache, default_threads  # noqa: E402
from lab.runner import transcribe_one  # noqa: E402

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "audio" / "jfk.flac"
DEFAULT_MODELS = ["faster-whisper:tiny.en", "openai-whisper:tiny.en", "transformers:whisper-tiny.en",
                  "whisper.cpp:tiny.en"]
# runtime → its best CPU precision, where it has one beyond float32
BEST_CPU = {"faster-whisper": "int8", "whisper.cpp": "q8_0"}
OPTIONS = AsrOptions(beam_size=1, word_timestamps=False)
Row = tuple[str, str]  # (model id, compute type)


def rows_for(models: list[str], compute_type: str, best: bool) -> list[Row]:
    rows = [(m, compute_type) for m in models]
    if best:
        rows += [(m, BEST_CPU[m.split(":")[0]]) for m in models if m.split(":")[0] in BEST_CPU]
    return rows


def peak_memory_mb(model: str, compute_type: str, audio: Path) -> float:
    """Peak RSS growth of loading `model` and transcribing `audio` once, in a fresh process."""
    cmd = [sys.executable, __file__, "--memory-probe", model, compute_type, "--file", str(audio)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"memory probe for {model} ({compute_type}) failed: {out.stderr[-500:]}")
    return float(out.stdout.strip().splitlines()[-1])


def memory_probe(model: str, compute_type: str, audio: Path) -> None:
    from lab.catalog import get_spec
    from lab.engines import RUNTIMES
    from lab.metrics import score

    clip = load_audio(audio)
    for module in RUNTIMES[get_spec(model).runtime][1]:
        importlib.import_module(module)
    score("warm up", "warm up", "en")  # scoring imports its normalisers (and torch) on first use: not the model's
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: import-time peaks are not counted
    before = psutil.Process().memory_info().rss
    r = transcribe_one(clip, model, options=OPTIONS, cache=ModelCache(), compute_type=compute_type, warmup=False)
    if not r.ok:
        raise SystemExit(r.error)
    print(max(0, _peak_rss() - before) / 2**20)


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise SystemExit("no VmHWM in /proc/self/status: peak memory needs Linux")


def reference_for(audio: Path) -> str | None:
    """The clip's reference from the manifest.csv beside it, if there is one."""
    manifest = audio.parent / "manifest.csv"
    if not manifest.is_file():
        return None
    with manifest.open(newline="") as f:
        return next((row["reference"] or None for row in csv.DictReader(f) if row["file"] == audio.name), None)


def bench(args: argparse.Namespace) -> dict:
    rows = rows_for(args.models or DEFAULT_MODELS, args.compute_type, not args.no_best)
    clip, reference = load_audio(args.file), reference_for(args.file)
    cache = ModelCache()
    first = {row: transcribe_one(clip, row[0], reference, options=OPTIONS, cache=cache, compute_type=row[1])
             for row in rows}
    failed = {f"{m} ({c})": r.error for (m, c), r in first.items() if not r.ok}
    if failed:
        sys.exit(f"cannot bench: {failed}")
    times: dict[Row, list[float]] = {row: [] for row in rows}
    for _ in range(args.reps):
        for row in rows:
            r = transcribe_one(clip, row[0], options=OPTIONS, cache=cache, compute_type=row[1], warmup=False)
            times[row].append(r.latency_s)
    cache.clear()
    memory = {row: peak_memory_mb(*row, args.file) for row in rows}
    med = {row: statistics.median(t) for row, t in times.items()}
    ref = med[rows[0]]
    return {"file": args.file.name, "audio_s": clip.duration_s, "threads": default_threads(), "reps": args.reps,
            "cpu": psutil.cpu_count(), "rows": [
                {"model": m, "compute_type": c, "median_s": med[(m, c)], "rtfx": clip.duration_s / med[(m, c)],
                 "vs_first": med[(m, c)] / ref, "load_s": first[(m, c)].load_s, "warmup_s": first[(m, c)].warmup_s,
                 "peak_rss_delta_mb": memory[(m, c)], "wer": first[(m, c)].wer, "text": first[(m, c)].text}
                for m, c in rows]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("-m", "--model", action="append", dest="models")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compute-type", default="float32", help="same precision everywhere for a fair race")
    ap.add_argument("--no-best", action="store_true", help="leave out the rows at each runtime's best CPU setting")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--memory-probe", nargs=2, metavar=("MODEL", "COMPUTE_TYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        memory_probe(*args.memory_probe, args.file)
        return
    out = bench(args)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.file.name} ({out['audio_s']:.1f} s), greedy, {out['threads']} threads, {args.reps} interleaved "
          f"reps, medians (warm-up excluded); peak RSS delta from a fresh process")
    for row in out["rows"]:
        print(f"  {row['model']:30} {row['compute_type']:8} {row['median_s'] * 1000:8.1f} ms  RTFx {row['rtfx']:5.1f}"
              f"  x{row['vs_first']:.2f}  load {row['load_s']:5.2f} s  peak +{row['peak_rss_delta_mb']:6.0f} MB"
              f"  WER {_pct(row['wer'])}")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


if __name__ == "__main__":
    main()
