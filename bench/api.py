"""The HTTP API's cost: `POST /asr/transcribe` on a real `lab serve` vs the same model called directly.

For each concurrency (1, 2, 4) the same number of requests goes to a `lab serve` subprocess on
loopback (threads, one HTTP request each) and then, in this process, to `transcribe_one` on a warm
model (threads, one call each). Prints requests/s and client-side p50/p95 for both, their ratios,
and the latency and queue wait the server stored (the model's own time, the wait apart).

    python bench/api.py [--file AUDIO] [--model faster-whisper:tiny.en] [--requests 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_FILE = REPO.parent / "shared" / "audio" / "jfk.flac"


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))]


def _burst(call: Callable[[], object], n: int, concurrency: int) -> dict:
    """n calls over `concurrency` threads: requests/s and per-call p50/p95."""
    def timed(_i: int) -> tuple[float, object]:
        start = time.perf_counter()
        out = call()
        return time.perf_counter() - start, out

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(timed, range(n)))
    wall = time.perf_counter() - start
    lat = [d[0] for d in done]
    return {"rps": n / wall, "p50_s": _quantile(lat, 0.5), "p95_s": _quantile(lat, 0.95),
            "outputs": [d[1] for d in done]}


def _start_server(env: dict) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "lab.serve.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("lab serve did not start within 60 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--model", default="faster-whisper:tiny.en")
    ap.add_argument("--requests", type=int, default=8, help="per concurrency level and side")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {**os.environ, "LAB_DB_URL": f"sqlite:///{tmp / 'lab.sqlite'}", "LAB_CLIPS_DIR": str(tmp / "clips"),
           "LAB_RATE_LIMIT": "100000/minute", "LAB_QUEUE_LENGTH": str(4 * args.requests),
           "PYTHONPATH": str(REPO)}
    os.environ.update({k: env[k] for k in ("LAB_DB_URL", "LAB_CLIPS_DIR")})
    from lab.audio import load_audio
    from lab.loading import ModelCache
    from lab.runner import transcribe_one
    from lab.store import create_key, get_run

    key = {"X-API-Key": create_key("bench", experimental=True)[0]}
    audio = args.file.read_bytes()
    clip = load_audio(args.file)
    cache = ModelCache()
    transcribe_one(clip, args.model, cache=cache)  # load and warm up, excluded

    proc, url = _start_server(env)
    client = httpx.Client(timeout=600, headers=key)

    def api() -> int:
        r = client.post(f"{url}/asr/transcribe", files={"file": (args.file.name, audio, "audio/flac")},
                        data={"model": args.model})
        r.raise_for_status()
        return r.json()["run_id"]

    def direct() -> None:
        r = transcribe_one(clip, args.model, cache=cache)
        assert r.ok, r.error

    rows = []
    try:
        api()  # the server's load and warm-up, excluded
        for c in (1, 2, 4):
            a, d = _burst(api, args.requests, c), _burst(direct, args.requests, c)
            stored = [get_run(run_id).results[0] for run_id in a.pop("outputs")]
            d.pop("outputs")
            rows.append({"concurrency": c, "api": a, "direct": d, "rps_ratio": a["rps"] / d["rps"],
                         "p50_ratio": a["p50_s"] / d["p50_s"], "p95_ratio": a["p95_s"] / d["p95_s"],
                         "stored_latency_p50_s": statistics.median(r.latency_s for r in stored),
                         "stored_queue_p50_s": statistics.median(r.queue_s for r in stored)})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if args.json:
        print(json.dumps({"model": args.model, "file": args.file.name, "requests": args.requests, "rows": rows},
                         indent=2))
        return
    print(f"{args.model} on {args.file.name}, {args.requests} requests per level (API vs direct, same machine)")
    for r in rows:
        a, d = r["api"], r["direct"]
        print(f"c={r['concurrency']}: API {a['rps']:.2f} req/s p50 {a['p50_s']:.3f} s p95 {a['p95_s']:.3f} s | "
              f"direct {d['rps']:.2f} req/s p50 {d['p50_s']:.3f} s p95 {d['p95_s']:.3f} s | "
              f"ratio rps {r['rps_ratio']:.2f} p50 {r['p50_ratio']:.2f} p95 {r['p95_ratio']:.2f} | "
              f"stored latency p50 {r['stored_latency_p50_s']:.3f} s, queue p50 {r['stored_queue_p50_s']:.3f} s")


if __name__ == "__main__":
    main()
