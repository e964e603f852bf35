"""Stability: the same clip N times after a warm-up. Latency spread, memory growth, determinism."""

from __future__ import annotations

import gc
import statistics
from dataclasses import asdict, dataclass, field

import psutil

from lab import store
from lab.audio import AudioClip
from lab.catalog import get_spec
from lab.engines.base import AsrOptions
from lab.errors import LabError
from lab.loading import ModelCache, default_cache
from lab.metrics import percentiles
from lab.runner import transcribe_one

GROWTH_FLAG = 0.10  # resident memory grown by more than 10% over the runs is flagged


@dataclass
class StabilityReport:
    model: str
    runs: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    std_s: float | None
    first_run_s: float | None  # the warm-up (first call after load), excluded from the stats
    warm_mean_s: float | None
    rss_start_mb: float
    rss_end_mb: float
    memory_growth: bool
    errors: int
    identical: bool
    latencies_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    run_id: int | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def stability(clip: AudioClip, model_id: str, runs: int, options: AsrOptions | None = None,
              cache: ModelCache | None = None, progress=None, store_run: bool = True) -> StabilityReport:  # noqa: ANN001
    get_spec(model_id)
    if runs < 1:
        raise LabError("--runs must be at least 1.")
    options, cache = options or AsrOptions(), cache or default_cache()
    first = transcribe_one(clip, model_id, options=options, cache=cache, warmup=False)
    if not first.ok:
        raise LabError(first.error or f"{model_id} failed")
    gc.collect()
    rss = [_rss_mb()]
    lat, texts, errors = [], set(), 0
    for i in range(runs):
        r = transcribe_one(clip, model_id, options=options, cache=cache, warmup=False)
        if r.ok:
            lat.append(r.latency_s)
            texts.add(r.text)
        else:
            errors += 1
        rss.append(_rss_mb())
        if progress:
            progress(i + 1, runs, model_id)
    p = percentiles(lat)
    report = StabilityReport(
        model=model_id, runs=runs, p50_s=p["p50"], p95_s=p["p95"], p99_s=p["p99"],
        std_s=statistics.stdev(lat) if len(lat) > 1 else 0.0 if lat else None,
        first_run_s=first.latency_s, warm_mean_s=statistics.fmean(lat) if lat else None,
        rss_start_mb=rss[0], rss_end_mb=rss[-1], memory_growth=rss[-1] > rss[0] * (1 + GROWTH_FLAG),
        errors=errors, identical=len(texts) <= 1 and errors == 0, latencies_s=lat, rss_mb=rss,
    )
    if store_run:
        report.run_id = _store(clip, model_id, options, report, first)
    return report


def _store(clip: AudioClip, model_id: str, options: AsrOptions, report: StabilityReport, first) -> int:  # noqa: ANN001
    clip_id = store.save_clip(clip)
    settings = {"models": [model_id], "runs": report.runs, "options": asdict(options)}
    run_id = store.start_run("stability", settings, clip_id=clip_id)
    row = first.row()
    row.update(latency_s=report.p50_s, rtfx=clip.duration_s / report.p50_s if report.p50_s else None)
    row["extra"] = {**row["extra"], "stability": {k: v for k, v in report.to_json().items() if k != "run_id"}}
    store.add_result(run_id, {**row, "clip_id": clip_id})
    store.finish_run(run_id, "done" if not report.errors else "partial", summary=report.to_json())
    return run_id
