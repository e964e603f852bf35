"""What the Compare page shows: the summary table and chart of one comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.cards import CardView, Envelope, result_label, waveform_figure
from dashboard.format import clip_caption, fmt_pct, fmt_seconds, mime_for
from lab import vad
from lab.audio import AudioClip
from lab.charts import model_color
from lab.store import ResultRecord

AUTO = ""  # no reference language picked: the model's own (English-only) or the detected language scores
REFERENCE_LANGUAGES = (AUTO, "en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "hi", "zh", "ja",
                       "ko", "th", "vi")
PRECISIONS = (AUTO, "float32", "float16", "int8")


def language_label(code: str) -> str:
    return "auto — the model's language, else the detected one" if code == AUTO else code


def precision_label(code: str) -> str:
    return "like for like — float32 on CPU, float16 on CUDA" if code == AUTO else code


def variant_text(model: str, precision: str, beam: int) -> str:
    """A variant in the syntax the CLI and API take (`model@int8,beam=1`)."""
    return f"{model}@{','.join(p for p in (precision, f'beam={beam}') if p)}"


def summary_frame(rows: Sequence[ResultRecord]) -> pd.DataFrame:
    """One row per model (per variant, named `model@int8,beam=1`): the figures the summary chart and table show."""
    out = [{
        "Model": result_label(r), "Compute": r.compute_type, "Beam": r.beam_size, "Latency (s)": r.latency_s,
        "RTFx": r.rtfx,
        "WER (%)": None if r.wer is None else r.wer * 100,
        "CER (%)": None if r.cer is None else r.cer * 100,
        "Load (s)": r.load_s, "Cached": r.cached, "Error": r.error or "",
    } for r in rows]
    return pd.DataFrame(out, columns=["Model", "Compute", "Beam", "Latency (s)", "RTFx", "WER (%)", "CER (%)",
                                      "Load (s)", "Cached", "Error"])


def summary_figure(frame: pd.DataFrame) -> go.Figure:
    """Latency and WER per model side by side (WER only when there was a reference)."""
    ok = frame[frame["Error"] == ""]
    has_wer = ok["WER (%)"].notna().any()
    fig = make_subplots(rows=1, cols=2 if has_wer else 1, horizontal_spacing=0.12,
                        subplot_titles=["Latency (s) — lower is better"] + (["WER (%) — lower is better"]
                                                                            if has_wer else []))
    colors = [model_color(m.partition("@")[0]) for m in ok["Model"]]
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
    vad: pd.DataFrame | None = None  # speech ratio and agreement per VAD (None without VAD models)


def compare_outcome(run_id: int | None, clip_key: str, clip: AudioClip, env: Envelope,
                    rows: Sequence[ResultRecord], cards: Sequence[CardView], states: Mapping[str, str]
                    ) -> CompareOutcome:
    asr = [r for r in rows if not vad.is_vad(r)]
    frame = summary_frame(asr)
    vads = vad.summary_rows(rows, clip.duration_s)
    return CompareOutcome(run_id, clip_key, clip_caption(clip), clip.data, mime_for(clip.name), tuple(rows),
                          tuple(cards), dict(states), waveform_figure(env, rows), frame, summary_figure(frame),
                          pd.DataFrame(vads) if vads else None)
