"""Compare's Live mode, from a recording or the microphone.

A recording: each model streams the clip alone (simulated clock), then the page plays the audio while every card
replays its partial (grey) and committed (black) text in step with it, then the metrics.
The microphone: the browser's audio comes over WebRTC (streamlit-webrtc) into a `LiveSession`; every model hears
it at once and its card grows as it answers; Stop stores the recording and the run, then the metrics."""

from __future__ import annotations

import queue
import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import live as live_view
from lab.audio import AudioClip, PcmConverter
from lab.charts import model_color
from lab.errors import LabError
from lab.live import LiveSession, StreamComparison, StreamResult
from lab.settings import settings
from lab.streaming import Tick

TICK_S = 0.1
MIC_KEY = "live-mic"
RECEIVER_FRAMES = 1500  # 30 s of 20 ms frames may wait while models load; more and the oldest are dropped


def render(clip: AudioClip, models: list[str], reference: str | None, chunk_ms: int = 500) -> None:
    comp = StreamComparison(clip, models, reference, chunk_ms / 1000, cache=ui_state.model_cache())
    results = []
    bar = st.progress(0.0)
    with ui_state.exclusive():
        for i, model in enumerate(models):  # one line per model, so a slow stream says who it is waiting on
            head = f"{model} ({i + 1} of {len(models)})"
            bar.progress(0.0, text=f"{head}: loading and running it offline for comparison…")

            def said(tick: Tick, head: str = head) -> None:
                bar.progress(min(1.0, tick.audio_s / clip.duration_s),
                             text=f"{head}: streamed {tick.audio_s:.1f} s of {clip.duration_s:.1f} s")
            results.append(comp.run_model(model, on_tick=said))
    bar.empty()
    comp.finish()
    lines = {r.model: r.timeline for r in results if r.timeline}
    for r in results:
        if r.error:
            st.error(r.error)
    st.subheader(f"Live · run #{comp.run_id}")
    st.audio(clip.data, format=fmt.mime_for(clip.name), autoplay=True)
    holes = _cards(list(lines))
    end = max([clip.duration_s, *(line.ticks[-1].at_s for line in lines.values() if line.ticks)])
    start = time.perf_counter()
    while (t := time.perf_counter() - start) <= end + TICK_S:
        for m, line in lines.items():
            holes[m].html(live_view.card_html(m, line, t))
        time.sleep(TICK_S)
    st.caption(f"Stored as run {comp.run_id} (kind stream); History replays it.")
    st.dataframe(live_view.metric_rows(results), hide_index=True)


def _cards(models: list[str]) -> dict[str, DeltaGenerator]:
    """One bordered card per model, three to a row; returns the place each card's live text goes."""
    holes = {}
    for m, col in zip(models, st.columns(min(3, max(1, len(models)))) * len(models), strict=False):
        with col, st.container(border=True, key=f"live-{fmt.slug(m)}"):
            st.html(f'<div style="height:4px;background:{model_color(m)};border-radius:2px"></div>')
            st.markdown(f"**{fmt.md_escape(fmt.display_name(m))}**  \n`{m}`")
            holes[m] = st.empty()
    return holes


def render_mic(models: list[str], reference: str | None, chunk_ms: int = 500) -> None:
    """The microphone: Start streams it to every chosen model at once; Stop stores the run and shows the metrics."""
    st.caption("Every chosen model hears the microphone at once, so the lags are those of running them side by "
               "side on this server. Stop keeps the recording and the run; History replays it.")
    try:
        ctx = webrtc_streamer(key=MIC_KEY, mode=WebRtcMode.SENDONLY, audio_receiver_size=RECEIVER_FRAMES,
                              rtc_configuration={"iceServers": settings().webrtc_ice_servers},
                              media_stream_constraints={"audio": True, "video": False},
                              translations={"start": "Start microphone", "stop": "Stop"})
    except Exception as e:  # the component needs a real Streamlit server session (not a script test harness)
        st.error(f"The microphone cannot start here: {e}. Run the dashboard with `make run`.",
                 icon=":material/mic_off:")
        return
    session: LiveSession | None = st.session_state.get("mic_session")
    if ctx.state.playing:
        if session is None:
            session = _start(models, reference, chunk_ms)
        if session is not None:
            _listen(ctx, session)
    elif session is not None:  # Stop (or the browser went away): store what was heard
        del st.session_state["mic_session"]
        with ui_state.exclusive(), st.spinner("Storing the recording and running each model on it offline…"):
            try:
                st.session_state["mic_last"] = session.stop()
            except LabError as e:
                st.warning(str(e), icon=":material/mic_off:")
    if not ctx.state.playing and st.session_state.get("mic_last"):
        _show_mic_result(*st.session_state["mic_last"])


def _start(models: list[str], reference: str | None, chunk_ms: int) -> LiveSession | None:
    if not models:
        st.warning("Tick at least one speech model above, then start the microphone.", icon=":material/mic_off:")
        return None
    with st.spinner(f"Loading {fmt.plural(len(models), 'model')}…"):
        session = LiveSession(models, reference, chunk_ms / 1000, cache=ui_state.model_cache()).start()
    st.session_state["mic_session"], st.session_state["mic_last"] = session, None
    st.session_state["mic_converter"] = PcmConverter()
    return session


def _listen(ctx, session: LiveSession) -> None:  # noqa: ANN001 - streamlit-webrtc's context
    """Hand the browser's frames to the session and redraw the cards until Stop (which reruns the page)."""
    holes, status = _cards(session.model_ids), st.empty()
    converter: PcmConverter = st.session_state["mic_converter"]
    with ui_state.exclusive():
        while ctx.state.playing:
            try:
                frames = ctx.audio_receiver.get_frames(timeout=TICK_S) if ctx.audio_receiver else []
            except queue.Empty:
                frames = []
            session.push(converter.convert(frames))
            for m, (tick, error) in session.snapshot().items():
                holes[m].html(live_view.tick_html(m, tick, session.heard_s, error=error))
            if session.full:
                status.warning(f"The recording reached {session.limit_s / 60:.0f} minutes, the longest the lab "
                               "keeps (LAB_MAX_AUDIO_S); press Stop.", icon=":material/timer_off:")
            elif not session.heard_s:
                status.caption("Listening… waiting for the first audio from the browser.")
            else:
                status.empty()


def _show_mic_result(run_id: int | None, results: list[StreamResult]) -> None:
    st.subheader(f"Live · microphone · run #{run_id}")
    holes = _cards([r.model for r in results])
    for r in results:
        tick = r.timeline.ticks[-1] if r.timeline and r.timeline.ticks else None
        duration = r.timeline.duration_s if r.timeline else None
        holes[r.model].html(live_view.tick_html(r.model, tick, duration or 0.0, duration, r.error))
    st.caption(f"Stored as run {run_id} (kind stream, with the recording); History replays it.")
    st.dataframe(live_view.metric_rows(results), hide_index=True)
