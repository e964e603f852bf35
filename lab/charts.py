"""Charts shared by the dashboard and the HTML reports (plotly only: no UI framework here)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from lab.catalog import catalog

# One colour per model everywhere (cards, waveform lanes, charts): assigned by catalog order. Tableau 10, then
# ten of Kelly's colours of maximum contrast, so a catalog of up to 20 models never shares one.
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D",
           "#C2417F", "#BAB0AC", "#2F2F2F", "#8DB600", "#604E97", "#882D17", "#A1CAF1", "#F6A600",
           "#008856", "#E25822", "#C2B280", "#0067A5")


def model_color(model_id: str) -> str:
    ids = list(catalog())
    i = ids.index(model_id) if model_id in ids else sum(map(ord, model_id))
    return PALETTE[i % len(PALETTE)]


def accuracy_speed_figure(summary: Mapping[str, Any] | None) -> go.Figure | None:
    """Each model as a point: x RTFx (higher is faster), y corpus WER with its 95% CI as error bars.
    None when no model has both figures (e.g. every clip failed or nothing had a reference)."""
    models = [m for m in (summary or {}).get("models") or [] if m.get("wer") is not None and m.get("rtfx")]
    if not models:
        return None
    fig = go.Figure()
    for m in models:
        wer = m["wer"] * 100
        lo, hi = (c * 100 for c in (m.get("wer_ci") or [m["wer"], m["wer"]]))
        fig.add_trace(go.Scatter(
            x=[m["rtfx"]], y=[wer], mode="markers+text", text=[m["model"]], textposition="middle right",
            name=m["model"], marker={"size": 13, "color": model_color(m["model"])}, showlegend=False,
            error_y={"type": "data", "symmetric": False, "array": [hi - wer], "arrayminus": [wer - lo],
                     "thickness": 1.5, "width": 6},
            hovertemplate=(f"{html.escape(m['model'])}<br>RTFx %{{x:.1f}}<br>WER %{{y:.1f}}% "
                           f"(95% CI {lo:.1f}–{hi:.1f}%)<extra></extra>")))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": "Accuracy vs speed (error bars: 95% CI of WER)", "font": {"size": 14}},
                      xaxis_title="RTFx: seconds of audio per second of compute (→ faster)",
                      yaxis_title="corpus WER % (↓ better)")
    # room on the right for the labels, and for the top of the error bars
    fig.update_xaxes(range=[0, 1.3 * max(m["rtfx"] for m in models)])
    fig.update_yaxes(range=[0, 1.08 * max(100 * (m.get("wer_ci") or [0, m["wer"]])[1] for m in models) + 1])
    return fig
