"""Compare's Live mode: each model streams the clip (simulated clock), then the page plays the audio while
every card replays its partial (grey) and committed (black) text in step with it, then the metrics."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import live as live_view
from lab.audio import AudioClip
from lab.charts import model_color
from lab.live import StreamComparison

TICK_S = 0.1


def render(clip: AudioClip, models: list[str], reference: str | None, chunk_ms: int = 500) -> None:
    comp = StreamComparison(clip, models, reference, chunk_ms / 1000, cache=ui_state.model_cache())
    results = []
    with ui_state.exclusive():
        for i, model in enumerate(models):  # one line per model, so a slow stream says who it is waiting on
            with st.spinner(f"Streaming through {model} ({i + 1} of {len(models)})…"):
                results.append(comp.run_model(model))
    comp.finish()
    lines = {r.model: r.timeline for r in results if r.timeline}
    for r in results:
        if r.error:
            st.error(r.error)
    st.subheader(f"Live · run #{comp.run_id}")
    st.audio(clip.data, format=fmt.mime_for(clip.name), autoplay=True)
    holes = {}
    for m, col in zip(lines, st.columns(min(3, max(1, len(lines)))) * len(lines), strict=False):
        with col, st.container(border=True, key=f"live-{fmt.slug(m)}"):
            st.html(f'<div style="height:4px;background:{model_color(m)};border-radius:2px"></div>')
            st.markdown(f"**{fmt.md_escape(fmt.display_name(m))}**  \n`{m}`")
            holes[m] = st.empty()
    end = max([clip.duration_s, *(line.ticks[-1].at_s for line in lines.values() if line.ticks)])
    start = time.perf_counter()
    while (t := time.perf_counter() - start) <= end + TICK_S:
        for m, line in lines.items():
            holes[m].html(live_view.card_html(m, line, t))
        time.sleep(TICK_S)
    st.caption(f"Stored as run {comp.run_id} (kind stream); History replays it.")
    st.dataframe(live_view.metric_rows(results), hide_index=True)
