"""Compare's Live mode: each model streams the clip (simulated clock), then the page plays the audio while
every card replays its partial (grey) and committed (black) text in step with it, then the metrics."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import state as ui_state
from dashboard.views import live as live_view
from lab.audio import AudioClip
from lab.live import StreamComparison

TICK_S = 0.1


def render(clip: AudioClip, models: list[str], reference: str | None, chunk_ms: int = 500) -> None:
    comp = StreamComparison(clip, models, reference, chunk_ms / 1000, cache=ui_state.model_cache())
    with st.spinner("Streaming through each model…"), ui_state.exclusive():
        results = list(comp)
    lines = {r.model: r.timeline for r in results if r.timeline}
    for r in results:
        if r.error:
            st.error(r.error)
    st.audio(clip.data, autoplay=True)
    holes = {m: st.empty() for m in lines}
    end = max([clip.duration_s, *(line.ticks[-1].at_s for line in lines.values() if line.ticks)])
    start = time.perf_counter()
    while (t := time.perf_counter() - start) <= end + TICK_S:
        for m, line in lines.items():
            holes[m].markdown(live_view.card_html(m, line, t), unsafe_allow_html=True)
        time.sleep(TICK_S)
    st.caption(f"Stored as run {comp.run_id} (kind stream).")
    st.dataframe(live_view.metric_rows(results), hide_index=True)
