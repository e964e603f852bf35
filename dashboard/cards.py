"""One result card (metrics, transcript, word diff) and the waveform with each model's segments.

Compare, History and Listen draw them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.format import display_name, fmt_pct, fmt_rtfx, fmt_seconds, md_escape, plural
from lab.catalog import catalog
from lab.charts import model_color
from lab.metrics import align
from lab.store import ResultRecord

DIFF_STYLE = {
    "substitute": "background:#fde68a;color:#78350f;",
    "delete": "background:#fecaca;color:#7f1d1d;text-decoration:line-through;",
    "insert": "background:#bbf7d0;color:#14532d;",
}


_CHIP = "border-radius:4px;padding:0 3px;margin:0 1px;"


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


def card_view(row: ResultRecord, reference: str | None) -> CardView:
    """Shape one result (a stored one from `get_run`, or a live `ModelResult` as `ResultRecord(**r.row())`)
    for its card."""
    model = row.model_id
    diff, summary = None, None
    if row.error is None and reference and reference.strip():
        diff = diff_html(reference, row.text or "", score_language(model, row.language))
        extra = row.extra or {}
        if extra:
            summary = (f"{plural(extra.get('substitutions', 0), 'substitution')} · "
                       f"{plural(extra.get('deletions', 0), 'deletion')} · "
                       f"{plural(extra.get('insertions', 0), 'insertion')} "
                       f"in {plural(extra.get('ref_words', 0), 'reference word')}")
    return CardView(model=model, title=display_name(model), color=model_color(model), error=row.error,
                    text=row.text, metrics=result_metrics(row), flags=tuple(row.flags or ()),
                    diff_html=diff, diff_summary=summary)


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
