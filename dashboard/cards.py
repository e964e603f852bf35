"""One result card (metrics, transcript, word diff) and the waveform with each model's segments.

Compare, History and Listen draw them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.format import display_name, fmt_pct, fmt_rtfx, fmt_seconds, md_escape, plural
from lab.catalog import catalog
from lab.charts import model_color
from lab.flags import explain_flag
from lab.metrics import align, base_language
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
    label: str = ""  # the variant (`model@int8,beam=1`): unique within a run, keys the card
    settings: str = ""  # "float32 · beam 5 · cpu · 2 threads"
    heard: str = ""  # "Heard: en (98%)"
    language_warning: str | None = None  # the model heard another language than the reference's
    flag_notes: tuple[str, ...] = ()  # one line per flag, same order as `flags`


def result_label(row: ResultRecord) -> str:
    """The variant a stored result ran as, else (rows stored before variants) its model id."""
    return row.label or row.model_id


def settings_line(row: ResultRecord) -> str:
    """What the result ran with: compute type, beam size, device, threads."""
    beam = None if row.beam_size is None else ("beam 1 (greedy)" if row.beam_size == 1 else f"beam {row.beam_size}")
    threads = None if row.threads is None else plural(row.threads, "thread")
    return " · ".join(str(p) for p in (row.compute_type, beam, row.device, threads) if p)


def heard_line(row: ResultRecord) -> str:
    """The language the model heard (or was told), with the engine's probability where it gives one."""
    if not row.language:
        return "Heard: — (the engine does not report a language)"
    prob = f" ({row.language_probability:.0%})" if row.language_probability is not None else ""
    return f"Heard: {row.language}{prob}"


def language_warning(row: ResultRecord, reference_language: str | None) -> str | None:
    ref, heard = base_language(reference_language), base_language(row.language)
    if ref and heard and ref != heard:
        return (f"The model heard '{heard}' but the reference is '{ref}': its transcript is probably in "
                "the wrong language (or a translation), so its error rates say little about accuracy.")
    return None


def score_language(model_id: str, detected: str | None) -> str:
    """The normaliser language the runner scored with: English-only models always 'en'."""
    spec = catalog().get(model_id)
    return "en" if (spec is None or spec.english_only) else (detected or "en")


def result_metrics(row: ResultRecord) -> tuple[MetricView, ...]:
    """The headline error rate (CER for languages written without spaces, else WER), the other one,
    latency, RTFx, load (cold or cached) and warm-up, formatted for st.metric."""
    load_s, cached = row.load_s, row.cached
    if cached:
        load = MetricView("Load", "cached", f"already in memory; its original load took {fmt_seconds(load_s)}")
    else:
        load = MetricView("Load (cold)", fmt_seconds(load_s), "weights read and model initialised for this run")
    scored = f" (scored as '{row.score_language}')" if row.score_language else ""
    wer = MetricView("WER", fmt_pct(row.wer), f"word error rate vs the reference, after normalisation{scored}"
                     if row.wer is not None else "no reference given")
    cer = MetricView("CER", fmt_pct(row.cer), f"character error rate vs the reference{scored}")
    if row.headline_metric == "cer":  # words are not space-separated in this language: CER is the headline
        cer = replace(cer, label="CER (headline)", help=(cer.help or "") + "; the headline for this language")
    errors = (cer, wer) if row.headline_metric == "cer" else (wer, cer)
    return (
        *errors,
        MetricView("Latency", fmt_seconds(row.latency_s), "transcription time only (no load, no warm-up)"),
        MetricView("RTFx", fmt_rtfx(row.rtfx), "seconds of audio per second of compute; higher is faster"),
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


def card_view(row: ResultRecord, reference: str | None, reference_language: str | None = None) -> CardView:
    """Shape one result (a stored one from `get_run`, or a live `ModelResult` as `ResultRecord(**r.row())`)
    for its card; `reference_language` (the reference's, when known) warns when the model heard another."""
    model = row.model_id
    diff, summary = None, None
    if row.error is None and reference and reference.strip():
        diff = diff_html(reference, row.text or "", row.score_language or score_language(model, row.language))
        extra = row.extra or {}
        if extra:
            summary = (f"{plural(extra.get('substitutions', 0), 'substitution')} · "
                       f"{plural(extra.get('deletions', 0), 'deletion')} · "
                       f"{plural(extra.get('insertions', 0), 'insertion')} "
                       f"in {plural(extra.get('ref_words', 0), 'reference word')}")
    label = result_label(row)
    title = display_name(model) + (f" @ {label.partition('@')[2]}" if "@" in label else "")
    flags = tuple(row.flags or ())
    return CardView(model=model, title=title, color=model_color(model), error=row.error,
                    text=row.text, metrics=result_metrics(row), flags=flags,
                    diff_html=diff, diff_summary=summary, label=label, settings=settings_line(row),
                    heard=heard_line(row), language_warning=language_warning(row, reference_language),
                    flag_notes=tuple(explain_flag(f) for f in flags))


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
        model, color = result_label(r), model_color(r.model_id)  # a variant (e.g. VAD first) has its own lane
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
    if card.settings:
        st.caption(f"Ran with: {md_escape(card.settings)}")
    if card.error:
        st.error(card.error, icon=":material/error:")
        return
    st.caption(md_escape(card.heard))
    if card.language_warning:
        st.warning(card.language_warning, icon=":material/translate:")
    st.html(transcript_html(card.text))
    for start in range(0, len(card.metrics), per_row):
        for m, column in zip(card.metrics[start:start + per_row], st.columns(per_row), strict=False):
            column.metric(m.label, m.value, help=m.help)
    for flag, note in zip(card.flags, card.flag_notes, strict=False):
        st.markdown(f":orange-badge[{md_escape(flag)}] {md_escape(note)}")
    if card.diff_html:
        st.caption("Word diff against the reference" + (f" — {card.diff_summary}" if card.diff_summary else ""))
        st.html(card.diff_html + diff_legend_html())
