"""What the History page shows: filtered runs, their results, latency and WER charts, exports."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.format import fmt_flags, fmt_pct, fmt_rtfx, fmt_seconds, fmt_when
from lab import store
from lab.catalog import catalog
from lab.charts import model_color
from lab.eval.evaluate import RunWer, run_wers
from lab.metrics import percentiles
from lab.store import (
    EXPORT_COLUMNS,
    RESULT_EXPORT_COLUMNS,
    RUN_EXPORT_COLUMNS,
    RunDetail,
    RunFilter,
    RunSummary,
)

PER_RESULT = ("clip", "duration_s", "reference", "reference_language")


def run_filter(model: str | None = None, kind: str | None = None, dates: Sequence[date] = (),
               clip: str | None = None) -> RunFilter:
    """UI values → RunFilter. Dates are whole UTC days, inclusive; one date means that single day."""
    since = until = None
    if len(dates) >= 1:
        since = datetime.combine(dates[0], time.min, tzinfo=UTC)  # the columns insist on aware datetimes
        until = datetime.combine(dates[-1], time.max, tzinfo=UTC)
    return RunFilter(model=model or None, kind=kind or None, since=since, until=until,
                     clip=(clip or "").strip() or None)


def wer_text(w: RunWer) -> str:
    """A run's WER figure as the History table shows it: corpus WER · CER per model for evaluations."""
    if w.basis == "corpus":
        parts = [f"WER {fmt_pct(f.wer)} · CER {fmt_pct(f.cer)}" for f in w.corpus]
        if len(w.corpus) == 1:
            return parts[0]
        return "; ".join(f"{f.model_id}: {p}" for f, p in zip(w.corpus, parts, strict=True))
    return fmt_pct(w.best_wer)


def runs_frame(runs: Sequence[RunSummary]) -> pd.DataFrame:
    """`store.list_runs` rows → the History table. Evaluations show their corpus WER/CER per model (from the
    run's stored summary); other runs their best single result, and "WER is" says which."""
    wers = run_wers(runs)
    rows = [{
        "Run": r.run_id, "When (UTC)": fmt_when(r.created_at), "Kind": r.kind, "Status": r.status,
        "Clip": r.clip or "—", "Audio (s)": r.duration_s, "Models": ", ".join(r.models),
        "WER": wer_text(wers[r.run_id]), "WER is": wers[r.run_id].label, "Errors": r.errors,
    } for r in runs]
    return pd.DataFrame(rows, columns=["Run", "When (UTC)", "Kind", "Status", "Clip", "Audio (s)", "Models",
                                       "WER", "WER is", "Errors"])


def as_table(run: RunDetail, max_cards: int) -> bool:
    """One result per model (a comparison) gets cards; a dataset evaluation (even of one clip: its figures are
    corpus figures) or a run with many results gets tables."""
    evaluation = run.kind in store.EVAL_RUN_KINDS and bool((run.summary or {}).get("models"))
    # variants of one model (int8 beside float32, VAD first) are labelled apart, so they still get cards
    labels = {r.label or r.model_id for r in run.results}
    return evaluation or len(run.results) > max_cards or len(labels) < len(run.results)


def results_frame(run: RunDetail) -> pd.DataFrame:
    """A run's results as a table (runs with many results, e.g. evaluations over a dataset)."""
    names = run.clip_names
    rows = [{
        "Model": r.model_id, "Clip": names.get(r.clip_id, run.clip or "—"),
        "WER": fmt_pct(r.wer), "CER": fmt_pct(r.cer), "Latency": fmt_seconds(r.latency_s),
        "RTFx": fmt_rtfx(r.rtfx), "Transcript": r.text or "", "Error": r.error or "",
    } for r in run.results]
    return pd.DataFrame(rows, columns=["Model", "Clip", "WER", "CER", "Latency", "RTFx", "Transcript", "Error"])


def eval_summary(summary: Mapping[str, Any] | None) -> tuple[pd.DataFrame, list[str]]:
    """An evaluation run's stored summary → per-model corpus figures, and the paired verdicts as sentences."""
    models = (summary or {}).get("models") or []
    rows = []
    for m in models:
        ci = m.get("wer_ci") or [None, None]
        rows.append({
            "Model": m.get("model"), "Corpus WER": fmt_pct(m.get("wer")),
            "95% CI": f"{fmt_pct(ci[0])} – {fmt_pct(ci[1])}" if ci[0] is not None else "—",
            "CER": fmt_pct(m.get("cer")),
            "S/D/I": f"{m.get('substitutions', 0)}/{m.get('deletions', 0)}/{m.get('insertions', 0)}",
            "RTFx": fmt_rtfx(m.get("rtfx")), "p50 latency": fmt_seconds(m.get("latency_p50_s")),
            "p95 latency": fmt_seconds(m.get("latency_p95_s")), "Clips": m.get("clips"), "Errors": m.get("errors"),
            "Flags": fmt_flags(m.get("flags")),
        })
    verdicts = [f"{p['a']} vs {p['b']}: {p['diff'] * 100:+.1f} WER points, 95% CI "
                f"[{p['ci'][0] * 100:+.1f}, {p['ci'][1] * 100:+.1f}] → {p['verdict']}"
                for p in (summary or {}).get("paired") or [] if p.get("diff") is not None and p.get("ci")]
    return pd.DataFrame(rows), verdicts


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // max(per_page, 1)))


def result_models() -> list[str]:
    """Model ids that have stored results."""
    return store.result_models()


def run_kinds() -> list[str]:
    return store.run_kinds()


def latency_stats(f: RunFilter, sample: int = 10_000) -> pd.DataFrame:
    """Per-model latency distribution (p5, quartiles, p95) over the newest `sample` successful results of the
    filtered runs."""
    by_model: dict[str, list[float]] = {}
    for model, lat in store.latencies(f, sample):
        by_model.setdefault(model, []).append(lat)
    out = []
    for model in sorted(by_model, key=lambda m: (list(catalog()).index(m) if m in catalog() else 999, m)):
        vals = by_model[model]
        p = percentiles(vals, (5, 25, 50, 75, 95))
        out.append({"model": model, "n": len(vals), "mean": float(np.mean(vals)), **p})
    return pd.DataFrame(out, columns=["model", "n", "mean", "p5", "p25", "p50", "p75", "p95"])


def latency_figure(stats: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for r in stats.itertuples(index=False):
        fig.add_trace(go.Box(
            x=[r.model], q1=[r.p25], median=[r.p50], q3=[r.p75], lowerfence=[r.p5], upperfence=[r.p95],
            mean=[r.mean], name=r.model, marker_color=model_color(r.model), showlegend=False,
            hovertemplate=f"{html.escape(r.model)}<br>n={r.n}<extra></extra>"))
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title={"text": "Latency per model (box: quartiles, whiskers: p5–p95)", "font": {"size": 14}},
                      yaxis_title="seconds")
    return fig


def wer_over_time(f: RunFilter) -> pd.DataFrame:
    """Mean WER per model per hour (runs spanning ≤ 2 days) or per day, aggregated in SQL."""
    rows = store.wer_buckets(f)
    if not rows:
        return pd.DataFrame(columns=["bucket", "model", "wer", "n"])
    frame = pd.DataFrame(rows, columns=["bucket", "model", "wer", "n"])
    frame["bucket"] = pd.to_datetime(frame["bucket"])
    return frame


def wer_figure(frame: pd.DataFrame) -> go.Figure:
    hourly = bool(len(frame)) and any(t.hour for t in frame["bucket"])
    when = "%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d"
    fig = go.Figure()
    for model, part in frame.groupby("model", sort=False):
        fig.add_trace(go.Scatter(
            x=part["bucket"], y=part["wer"] * 100, mode="lines+markers", name=str(model),
            line={"color": model_color(str(model)), "width": 2}, customdata=part["n"],
            hovertemplate=f"{html.escape(str(model))}<br>%{{x|{when}}}<br>WER %{{y:.1f}}% (n=%{{customdata}})"
                          "<extra></extra>"))
    # a time axis reads as dates (one point alone would otherwise show bare numbers)
    fig.update_xaxes(type="date", tickformat=when, title_text="UTC")
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="mean WER (%)",
                      title={"text": "WER per model over time", "font": {"size": 14}},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def export_rows(f: RunFilter) -> list[dict[str, Any]]:
    """Every filtered run, one row per model result (a run without results gives one row), newest first;
    the columns are `store.EXPORT_COLUMNS` (derived from the one result field list)."""
    return store.export_rows(f)


def export_csv(f: RunFilter) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS))
    w.writeheader()
    w.writerows({**r, "settings": json.dumps(r["settings"], ensure_ascii=False)} for r in export_rows(f))
    return buf.getvalue().encode("utf-8")


def export_json(f: RunFilter) -> bytes:
    """The same rows grouped as runs with their results nested; each result names its own clip and reference
    (an evaluation's run spans many clips), the run keeps its settings."""
    runs: dict[int, dict[str, Any]] = {}
    for row in export_rows(f):
        run = runs.setdefault(row["run_id"], {**{k: row[k] for k in RUN_EXPORT_COLUMNS}, "settings": row["settings"],
                                              "results": []})
        if row["model_id"] is not None:
            run["results"].append({k: row[k] for k in (*RESULT_EXPORT_COLUMNS, *PER_RESULT)})
    for run in runs.values():  # run-level clip/reference only when every result shares it
        for k in PER_RESULT:
            values = {r[k] for r in run["results"]}
            if len(values) > 1:
                run[k] = None
    return json.dumps(list(runs.values()), indent=2, ensure_ascii=False).encode("utf-8")
