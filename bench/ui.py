"""Dashboard responsiveness: History's first render over 10,000 stored runs, and a Compare rerun.

    python bench/ui.py [--runs 10000] [--json]

Seeds a temporary database (bulk insert, a few seconds), then drives the real pages through Streamlit's
AppTest: History's first render in a fresh session (target < 1 s), and a rerun of the Compare page
after a real faster-whisper:tiny.en comparison (target < 100 ms, with no model reload and no re-decode).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "dashboard" / "app.py")
MODELS = ("faster-whisper:tiny.en", "faster-whisper:base", "openai-whisper:tiny.en", "pocketsphinx:en-us")
REFERENCE = "ask not what your country can do for you ask what you can do for your country"


def seed(n_runs: int, rng_seed: int = 0) -> None:
    """Insert `n_runs` runs with 1-3 results each into the current LAB_DB_URL, in a few bulk statements."""
    from sqlalchemy import insert, select

    from db.models import Clip, Result, Run
    from db.session import get_engine
    from lab.settings import settings

    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    with get_engine(settings().db_url).begin() as conn:
        conn.execute(insert(Clip.__table__), [
            {"sha256": f"{i:064x}", "name": f"clip_{i:03d}.wav", "duration_s": round(rng.uniform(2, 60), 2),
             "created_at": now} for i in range(50)])
        clip_ids = [r[0] for r in conn.execute(select(Clip.id))]
        runs = []
        for i in range(n_runs):
            runs.append({"kind": rng.choice(("compare", "compare", "eval")), "status": "done",
                         "created_at": now - timedelta(minutes=(n_runs - i) * 9), "clip_id": rng.choice(clip_ids),
                         "reference": REFERENCE, "settings": {"models": []}, "machine": {"cpu": "bench"}})
        conn.execute(insert(Run.__table__), runs)
        run_ids = [r[0] for r in conn.execute(select(Run.id).order_by(Run.id))][-n_runs:]
        results = []
        for run_id in run_ids:
            for model in rng.sample(MODELS, rng.randint(1, 3)):
                wer = max(0.0, rng.gauss(0.1 if "whisper" in model else 0.3, 0.05))
                lat = max(0.05, rng.gauss(0.6 if "tiny" in model else 1.5, 0.2))
                results.append({"run_id": run_id, "model_id": model, "text": REFERENCE, "language": "en",
                                "wer": wer, "cer": wer / 2, "latency_s": lat, "rtfx": 11.0 / lat, "load_s": 0.4,
                                "cached": True, "flags": [], "segments": [], "words": [], "extra": {},
                                "created_at": now})
        conn.execute(insert(Result.__table__), results)


def _median_run(at, n: int) -> tuple[float, list[float]]:  # noqa: ANN001 - AppTest
    times = []
    for _ in range(n):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def history_first_render() -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    # first: a fresh process (imports, migrations check, first queries) — what the first visitor pays
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("screens/history.py")
    start = time.perf_counter()
    at.run()
    out["history_first_render_cold_process_s"] = time.perf_counter() - start
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert len(rows) == 25, len(rows)
    # then: a new session in the warm server process — what every later visitor pays
    warm = []
    for _ in range(3):
        at = AppTest.from_file(APP, default_timeout=60)
        at.switch_page("screens/history.py")
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    out["history_first_render_new_session_s"] = statistics.median(warm)
    # paging deep into the table
    at.number_input(key="page").set_value(300)
    start = time.perf_counter()
    at.run()
    out["history_page_300_s"] = time.perf_counter() - start
    return out


def compare_rerun(reruns: int) -> dict:
    from streamlit.testing.v1 import AppTest

    import lab.audio
    from dashboard import state as ui_state

    decodes = {"n": 0}
    real = lab.audio.load_audio

    def counting(*a, **k):  # noqa: ANN002, ANN003, ANN202
        decodes["n"] += 1
        return real(*a, **k)

    lab.audio.load_audio = counting
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.radio(key="source").set_value("Sample clip").run()
    if not at.selectbox(key="sample").options:
        raise SystemExit("bench: no sample clips (../shared/audio) to compare on")
    at.selectbox(key="sample").set_value("shared/jfk.flac").run()
    at.checkbox(key="pick:faster-whisper:tiny.en").check().run()
    start = time.perf_counter()
    at.button(key="run").click().run(timeout=300)
    run_s = time.perf_counter() - start
    assert not at.exception and not at.error, (at.exception, at.error)
    cache = ui_state.model_cache()
    loads, n_decodes = cache.loads, decodes["n"]
    _median_run(at, 3)  # settle
    median, times = _median_run(at, reruns)
    assert cache.loads == loads, "a rerun reloaded a model"
    assert decodes["n"] == n_decodes, "a rerun re-decoded the audio"
    lab.audio.load_audio = real
    return {"compare_run_s": run_s, "compare_rerun_median_s": median, "compare_rerun_max_s": max(times),
            "compare_reruns": reruns, "model_loads": loads, "decodes": n_decodes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--reruns", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lab-bench-ui-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    os.environ["LAB_DB_URL"] = f"sqlite:///{tmp / 'lab.sqlite'}"
    os.environ["LAB_CLIPS_DIR"] = str(tmp / "clips")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))

    start = time.perf_counter()
    seed(args.runs)
    out: dict = {"runs": args.runs, "seed_s": time.perf_counter() - start}
    out.update(history_first_render())
    out.update(compare_rerun(args.reruns))
    out["targets"] = {"history_first_render_new_session_s": 1.0, "compare_rerun_median_s": 0.1}
    out["ok"] = out["history_first_render_new_session_s"] < 1.0 and out["compare_rerun_median_s"] < 0.1
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"seeded {args.runs:,} runs in {out['seed_s']:.1f} s (temporary database, removed on exit)")
    print(f"History first render, fresh process (imports included): {out['history_first_render_cold_process_s']:.3f} s")
    print(f"History first render, new session:  {out['history_first_render_new_session_s']:.3f} s  (target < 1 s)")
    print(f"History page 300 of {args.runs // 25:,}:            {out['history_page_300_s']:.3f} s")
    print(f"Compare run (faster-whisper:tiny.en on jfk.flac): {out['compare_run_s']:.2f} s")
    print(f"Compare rerun, median of {args.reruns}:     {out['compare_rerun_median_s'] * 1000:.0f} ms "
          f"(max {out['compare_rerun_max_s'] * 1000:.0f} ms; target < 100 ms; model loads {out['model_loads']}, "
          f"decodes {out['decodes']}, unchanged by reruns)")
    print("OK" if out["ok"] else "TARGET MISSED")


if __name__ == "__main__":
    main()
