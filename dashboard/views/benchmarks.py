"""What the Benchmarks page shows: datasets, robustness curves, regression reports, stability."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.cards import MetricView
from dashboard.format import REPO, fmt_pct, fmt_seconds, fmt_when, plural
from dashboard.state import shared_audio_dir
from lab.charts import model_color
from lab.eval.evaluate import Dataset
from lab.eval.stability import GROWTH_FLAG
from lab.store import (
    RegressionReport,
    RunSummary,
)


@dataclass(frozen=True)
class DatasetChoice:
    label: str
    path: Path


def dataset_choices(shared: Path | None = None, data: Path | None = None) -> list[DatasetChoice]:
    """Manifests the Benchmarks page offers: the shared recordings' manifest, then any CSV manifest in data/
    (data/*.csv and data/*/manifest.csv). Missing folders are skipped."""
    out = []
    shared_manifest = (shared or shared_audio_dir()) / "manifest.csv"
    if shared_manifest.is_file():
        out.append(DatasetChoice(f"Shared recordings ({shared_manifest})", shared_manifest))
    folder = data or REPO / "data"
    if folder.is_dir():
        for path in sorted([*folder.glob("*.csv"), *folder.glob("*/manifest.csv")]):
            out.append(DatasetChoice(f"data/{path.relative_to(folder)}", path))
    return out


def config_choices(data: Path | None = None) -> list[Path]:
    """Regression configs the Benchmarks page offers: data/*.yaml and data/*.yml."""
    folder = data or REPO / "data"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def baselines_frame(models: Sequence[str], dataset: Path) -> pd.DataFrame:
    """The stored baseline of each model on the dataset (`lab.eval.regress.latest_baseline`), or that it has none."""
    from lab.eval.regress import latest_baseline

    rows = []
    for m in models:
        b = latest_baseline(m, dataset)
        rows.append({"Model": m, "Baseline": f"#{b.id}" if b else "none yet",
                     "WER": fmt_pct(b.wer) if b else "—", "CER": fmt_pct(b.cer) if b else "—",
                     "p95 latency": fmt_seconds(b.latency_p95_s) if b else "—",
                     "Set (UTC)": fmt_when(b.created_at) if b and b.created_at else "—",
                     "From run": f"#{b.run_id}" if b and b.run_id else "—"})
    return pd.DataFrame(rows, columns=["Model", "Baseline", "WER", "CER", "p95 latency", "Set (UTC)", "From run"])


def dataset_caption(ds: Dataset) -> str:
    scored = sum(1 for r in ds.rows if r.reference)
    missing = sum(1 for r in ds.rows if not r.file.is_file())
    text = f"{plural(len(ds.rows), 'clip')}, {scored} with a reference (only those are scored for WER)"
    return text + (f" · {missing} file(s) not found, they will be skipped" if missing else "")


def run_labels(runs: Sequence[RunSummary]) -> dict[int, str]:
    """`store.list_runs` rows → picker labels."""
    return {r.run_id: f"#{r.run_id} · {fmt_when(r.created_at)} UTC · {', '.join(r.models) or '—'} · "
                      f"{r.status}" for r in runs}


def report_html_bytes(run_id: int) -> bytes:
    """The run's self-contained HTML report (lab.serve.report), for a download button's deferred data."""
    from lab.serve.report import run_report_html

    return run_report_html(run_id).encode("utf-8")


def perturbation_order(curves: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    """'clean' first, then the perturbations in the core's order (the x axis of the robustness chart)."""
    from lab.eval.perturb import PERTURBATIONS

    tags = {t for by_tag in curves.values() for t in by_tag}
    return [t for t in ("clean", *PERTURBATIONS) if t in tags] + sorted(tags - {"clean", *PERTURBATIONS})


def robustness_frame(curves: Mapping[str, Mapping[str, float | None]]) -> pd.DataFrame:
    """One row per perturbation, one column per model: corpus WER in % (None when nothing was scored)."""
    order = perturbation_order(curves)
    rows = [{"Perturbation": t, **{m: (None if by_tag.get(t) is None else by_tag[t] * 100)
                                   for m, by_tag in curves.items()}} for t in order]
    return pd.DataFrame(rows, columns=["Perturbation", *curves])


def robustness_figure(curves: Mapping[str, Mapping[str, float | None]]) -> go.Figure:
    order = perturbation_order(curves)
    fig = go.Figure()
    for model, by_tag in curves.items():
        y = [None if by_tag.get(t) is None else by_tag[t] * 100 for t in order]
        fig.add_trace(go.Scatter(x=order, y=y, mode="lines+markers", name=model,
                                 line={"color": model_color(model), "width": 2},
                                 hovertemplate=f"{html.escape(model)}<br>%{{x}}: WER %{{y:.1f}}%<extra></extra>"))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title="corpus WER %",
                      title={"text": "WER per perturbation (clean first)", "font": {"size": 14}},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero")
    return fig


def robustness_dir(ds: Dataset, seed: int, names: Sequence[str]) -> Path:
    """Where the perturbed copies go: under the lab cache, one folder per (dataset, seed, perturbations), so the
    manifest a stored robustness run points at stays on disk."""
    from lab.weights import cache_dir

    key = hashlib.sha256(f"{ds.sha256}:{seed}:{','.join(sorted(names))}".encode()).hexdigest()[:16]
    return cache_dir() / "robustness" / key


@dataclass(frozen=True)
class RobustnessOutcome:
    """The last robustness run of a session (the per-perturbation curves need the full report, not stored)."""

    run_id: int | None
    dataset: str
    curves: dict[str, dict[str, float | None]]
    frame: pd.DataFrame
    figure: go.Figure


def robustness_outcome(run_id: int | None, dataset: str, curves: Mapping[str, Mapping[str, float | None]]
                       ) -> RobustnessOutcome:
    plain = {m: dict(by_tag) for m, by_tag in curves.items()}
    return RobustnessOutcome(run_id, dataset, plain, robustness_frame(plain), robustness_figure(plain))


def _check_value(check: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if check == "max_wer":
        return fmt_pct(value)
    if check == "max_wer_increase_points":
        return f"{value:+.2f} pts"
    if check == "max_p95_latency_ratio":
        return f"{value:.2f}×"
    return f"{value:g}"


@dataclass(frozen=True)
class RegressionView:
    report_id: int
    title: str
    passed: bool
    checks: pd.DataFrame
    runs: tuple[int, ...]


def regression_views(reports: Sequence[RegressionReport]) -> list[RegressionView]:
    """Stored regression reports (`lab.eval.regress.reports`), newest first, each with its checks as a table."""
    out = []
    for r in reports:
        checks = r.checks
        failed = sum(1 for c in checks if not c.passed)
        verdict = "PASSED" if r.passed else f"FAILED ({failed} of {len(checks)} checks)"
        when = fmt_when(r.created_at) if r.created_at else "—"
        title = f"#{r.report_id} · {when} UTC · {verdict} · {', '.join(r.models)}"
        frame = pd.DataFrame([{
            "Passed": bool(c.passed), "Model": c.model, "Dataset": c.dataset,
            "Check": c.check, "Value": _check_value(c.check, c.value),
            "Limit": _check_value(c.check, c.limit), "Detail": c.detail or "",
        } for c in checks], columns=["Passed", "Model", "Dataset", "Check", "Value", "Limit", "Detail"])
        out.append(RegressionView(r.report_id or 0, title, bool(r.passed), frame,
                                  tuple(x for x in r.runs if x is not None)))
    return out


def stability_metrics(summary: Mapping[str, Any]) -> tuple[MetricView, ...]:
    """A stability run's stored summary (`StabilityReport.to_json()`) as st.metric values."""
    growth = summary.get("rss_end_mb", 0) - summary.get("rss_start_mb", 0)
    errors = summary.get("errors") or 0
    return (
        MetricView("p50", fmt_seconds(summary.get("p50_s"), 3), "median latency over the warm runs"),
        MetricView("p95", fmt_seconds(summary.get("p95_s"), 3)),
        MetricView("p99", fmt_seconds(summary.get("p99_s"), 3)),
        MetricView("Std dev", fmt_seconds(summary.get("std_s"), 3)),
        MetricView("First run", fmt_seconds(summary.get("first_run_s"), 3),
                   "the run's first call, excluded from the statistics; cold only if the model was not already "
                   "loaded in this server's shared cache"),
        MetricView("Warm mean", fmt_seconds(summary.get("warm_mean_s"), 3)),
        MetricView("Memory growth", f"{growth:+.1f} MiB" + (" ⚠" if summary.get("memory_growth") else ""),
                   f"resident memory {summary.get('rss_start_mb', 0):.0f} → {summary.get('rss_end_mb', 0):.0f} MiB; "
                   "flagged above +10%"),
        MetricView("Transcripts", "identical" if summary.get("identical") else "differ",
                   f"same text on every run{'' if not errors else f'; {errors} run(s) failed'}"),
    )


def stability_figures(summary: Mapping[str, Any]) -> tuple[go.Figure, go.Figure]:
    """Latency histogram (warm runs, p50/p95 marked, first run as a dotted line) and memory over the runs."""
    lat = list(summary.get("latencies_s") or [])
    color = model_color(summary.get("model", ""))
    hist = go.Figure(go.Histogram(x=lat, nbinsx=max(5, min(40, len(lat) // 2 or 1)), marker_color=color,
                                  hovertemplate="%{x} s: %{y} runs<extra></extra>", name="warm runs"))
    for key, dash, label in (("p50_s", "solid", "p50"), ("p95_s", "dash", "p95"), ("first_run_s", "dot", "first")):
        x = summary.get(key)
        if x is not None:
            hist.add_vline(x=x, line={"dash": dash, "color": "#334155", "width": 1},
                           annotation_text=label, annotation_position="top")
    hist.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="latency (s)",
                       yaxis_title="runs", bargap=0.05,
                       title={"text": f"Latency over {len(lat)} warm runs", "font": {"size": 14}})
    rss = list(summary.get("rss_mb") or [])
    mem = go.Figure(go.Scatter(x=list(range(len(rss))), y=rss, mode="lines+markers", line={"color": color},
                               hovertemplate="after run %{x}: %{y:.1f} MiB<extra></extra>"))
    if rss:  # scaled so the +10% leak threshold is on the chart: a 1 MiB wiggle must not look like a cliff
        flag = rss[0] * (1 + GROWTH_FLAG)
        mem.add_hline(y=flag, line={"dash": "dot", "color": "#b91c1c", "width": 1},
                      annotation_text="+10%: flagged as growth", annotation_position="bottom right")
        mem.update_yaxes(range=[min(min(rss), rss[0] * 0.95), max(max(rss), flag) * 1.02])
    mem.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title="resident memory (MiB)",
                      xaxis_title="run (0 = after the first run)",
                      title={"text": "Memory over the runs", "font": {"size": 14}})
    return hist, mem
