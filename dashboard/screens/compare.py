"""Compare: one recording through several models, one card per model, side by side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import cards as ui_cards
from dashboard import format as fmt
from dashboard import picker
from dashboard import state as ui_state
from dashboard.views import compare as compare_view
from lab import store
from lab.audio import AudioClip
from lab.charts import model_color
from lab.engines.base import AsrOptions
from lab.errors import LabError, failure_message
from lab.plan import DEFAULT_BEAM
from lab.runner import Comparison, ModelResult
from lab.store import ResultRecord
from lab.vad import detect_into_run, vad_first_into_run, vad_first_label

SOURCES = ("Upload a file", "Record", "Sample clip")
LIVE_SOURCES = ("The recording", "Microphone")
TICK_S = 0.25  # the running card's counter refreshes at least this often
PER_ROW = 3


def _on_upload() -> None:
    """An upload that is a copy of a sample fills in that sample's reference (unless the user typed one)."""
    up = st.session_state.get("upload")
    if up is None:
        return
    try:
        match = ui_state.match_sample(up.name, up.size, ui_state.samples())
    except OSError:  # an unreadable sample folder only loses the convenience; callbacks must not raise
        return
    if match and match.reference and (not st.session_state.get("reference") or st.session_state.get("_ref_auto")):
        st.session_state["reference"] = match.reference
        st.session_state["_ref_auto"] = True


def _on_sample() -> None:
    try:
        chosen = {f"{s.source}/{s.name}": s for s in ui_state.samples()}.get(st.session_state.get("sample") or "")
    except OSError:
        return
    if chosen is not None:
        st.session_state["reference"] = chosen.reference or ""
        st.session_state["_ref_auto"] = True
        if chosen.language in compare_view.REFERENCE_LANGUAGES:  # the manifest says which language it is
            st.session_state["ref_language"] = chosen.language


def _on_reference() -> None:
    st.session_state["_ref_auto"] = False


def _audio_input() -> tuple[str, str, Callable[[], bytes]] | None:
    """The chosen input as (cache key, name, how to read its bytes), or None while nothing is chosen."""
    source = st.radio("Audio", SOURCES, horizontal=True, key="source", label_visibility="collapsed")
    if source == SOURCES[0]:
        up = st.file_uploader("Audio file (wav, flac, mp3, ogg, opus, m4a, webm)", type=list(fmt.AUDIO_TYPES),
                              key="upload", on_change=_on_upload)
        return (f"upload:{up.file_id}", up.name, up.getvalue) if up else None
    if source == SOURCES[1]:
        rec = st.audio_input("Record from your microphone", sample_rate=16000, key="record")
        return (f"record:{rec.file_id}", "recording.wav", rec.getvalue) if rec else None
    samples = ui_state.samples()
    if not samples:
        st.info("No sample clips here. Put recordings with a manifest.csv (file,reference) in ../shared/audio "
                "or data/, or upload a file instead.", icon=":material/library_music:")
        return None
    by_id = {f"{s.source}/{s.name}": s for s in samples}
    sid = st.selectbox("Sample clip", list(by_id), index=None, key="sample", on_change=_on_sample,
                       format_func=lambda k: by_id[k].label, placeholder="Choose a recording with a reference")
    if sid is None:
        return None
    path = by_id[sid].path
    return f"sample:{path}:{path.stat().st_mtime_ns}", path.name, path.read_bytes


def _model_picker(states: dict[str, str]) -> list[str]:
    options = picker.model_options(states, ui_state.availability())
    cols = st.columns(PER_ROW)
    for i, o in enumerate(options):
        color, _ = picker.STATE_STYLE[o.state]
        with cols[i % PER_ROW]:
            st.checkbox(o.id, key=f"pick:{o.id}", disabled=not o.available, help=o.where if o.available else o.hint)
            size = f" · {fmt.fmt_params(o.parameters)}" if o.parameters else ""
            if o.available:
                st.caption(f":{color}-badge[{o.state}] {fmt.md_escape(o.display_name)}{size}")
            else:  # the full hint (what to install or set) is in the checkbox's tooltip
                st.caption(f":{color}-badge[{o.state}] :red-badge[unavailable] "
                           f"{fmt.md_escape(picker.short_hint(o.id, o.hint))}")
    return [o.id for o in options if o.available and st.session_state.get(f"pick:{o.id}")]


def _vad_picker(states: dict[str, str]) -> list[str]:
    """Voice activity detectors: their speech segments join the waveform and the VAD table."""
    options = [o for o in picker.model_options(states, ui_state.availability(), task="vad") if o.available]
    if not options:
        return []
    cols = st.columns(PER_ROW)
    for i, o in enumerate(options):
        cols[i % PER_ROW].checkbox(f"VAD {o.id}", key=f"vad:{o.id}", help=o.display_name)
    cols[len(options) % PER_ROW].selectbox(
        "VAD first", [o.id for o in options], index=None, key="vad_first", placeholder="off",
        help="Adds a card per model: the same model decoding only the speech this VAD found "
             "(text on silence and latency, side by side)")
    return [o.id for o in options if st.session_state.get(f"vad:{o.id}")]


def _metrics_per_row(n_cards: int) -> int:
    return 2 if n_cards >= PER_ROW else 3


def _card_shells(labels: list[str], states: dict[str, str]) -> dict[str, DeltaGenerator]:
    """One bordered card per model variant (`model@int8,beam=1`), in rows of three; returns the placeholder
    inside each card."""
    holes = {}
    for start in range(0, len(labels), PER_ROW):
        row = labels[start:start + PER_ROW]
        for label, col in zip(row, st.columns(PER_ROW if len(labels) > PER_ROW else len(row)), strict=False):
            model, _, pinned = label.partition("@")
            with col, st.container(border=True, key=f"card-{fmt.slug(label)}"):
                badge, _ = picker.STATE_STYLE.get(states.get(model, ""), ("gray", ""))
                st.html(f'<div style="height:4px;background:{model_color(model)};border-radius:2px"></div>')
                title = fmt.display_name(model) + (f" @ {pinned}" if pinned else "")
                st.markdown(f"**{fmt.md_escape(title)}**  \n:{badge}-badge[{states.get(model, '?')}] `{label}`")
                holes[label] = st.empty()
    return holes


def _fill_card(hole: DeltaGenerator, card: ui_cards.CardView, per_row: int = 3) -> None:
    """per_row: metrics side by side (two when three cards share a row, so the figures are not cut off)."""
    with hole.container():
        ui_cards.render_card_body(card, per_row)


def _run_one(comp: Comparison, model: str, hole: DeltaGenerator) -> ResultRecord:
    """Run one model in a worker thread while this (script) thread ticks its card's elapsed counter and
    says what a slow first use is doing (converting weights, loading, warming up)."""
    box: dict[str, ModelResult] = {}
    stage = ["starting…"]

    def work() -> None:
        try:
            box["r"] = comp.run_model(model, progress=lambda s: stage.__setitem__(0, s))
        except Exception as e:  # e.g. the database refused the write: this card's error, not the page's
            box["r"] = ModelResult(model, error=failure_message(model, e))

    worker = threading.Thread(target=work, name=f"lab-run-{model}", daemon=True)
    start = time.perf_counter()
    worker.start()
    try:
        while worker.is_alive():
            hole.info(f"{stage[0].capitalize()} · {time.perf_counter() - start:.1f} s",
                      icon=":material/hourglass_top:")
            worker.join(TICK_S)
    finally:  # interrupted (the user clicked something): let the model finish so its result is stored
        worker.join()
    return ResultRecord(**box["r"].row())


def _run(clip: AudioClip, key: str, env: ui_cards.Envelope, models: list[str], reference: str | None,
         states: dict[str, str], choice: dict) -> compare_view.CompareOutcome | None:
    lock = ui_state.run_lock()
    waiting = st.empty()
    while not lock.acquire(timeout=0.5):  # a Streamlit call each turn, so a stop request still gets through
        waiting.info("Another comparison is running on this server; waiting for it so timings stay fair…",
                     icon=":material/hourglass_top:")
    waiting.empty()
    try:
        return _run_locked(clip, key, env, models, reference, states, choice)
    finally:
        lock.release()


def _run_locked(clip: AudioClip, key: str, env: ui_cards.Envelope, models: list[str], reference: str | None,
                states: dict[str, str], choice: dict) -> compare_view.CompareOutcome | None:
    """choice: the settings picked above (compute_type, beam_size, reference_language; None = default)."""
    try:
        comp = Comparison(clip, models, reference, AsrOptions(beam_size=choice["beam_size"]),
                          cache=ui_state.model_cache(), compute_type=choice["compute_type"],
                          reference_language=choice["reference_language"])
    except LabError as e:
        st.error(str(e))
        return None
    vad_first = choice.get("vad_first")
    firsts = [m for m in comp.model_ids if "@" not in m] if vad_first else []
    models = comp.model_ids + [vad_first_label(m, vad_first) for m in firsts]  # one label per card
    rows, cards = [], []
    try:
        st.subheader(f"Results · run #{comp.run_id}")
        progress = st.progress(0.0)
        holes = _card_shells(models, states)
        for model in models:
            holes[model].caption("Queued — models run one after another so timings stay fair.")
        for i, model in enumerate(comp.model_ids):
            progress.progress(i / len(models), text=f"Running {model} ({i + 1} of {len(models)})…")
            row = _run_one(comp, model, holes[model])
            card = ui_cards.card_view(row, reference, choice["reference_language"])
            _fill_card(holes[model], card, _metrics_per_row(len(models)))
            rows.append(row)
            cards.append(card)
        plain = {r.model_id: r.compute_type for r in rows if "@" not in ui_cards.result_label(r)}  # as planned
        for model in firsts:  # the same model, VAD first: its own card beside the plain one
            label = vad_first_label(model, vad_first)
            holes[label].info(f"Running {model} on {vad_first}'s speech only…", icon=":material/hourglass_top:")
            row = ResultRecord(**vad_first_into_run(comp.run_id, clip, model, vad_first, reference,
                                                    AsrOptions(beam_size=choice["beam_size"]),
                                                    ui_state.model_cache(), plain.get(model)))
            card = ui_cards.card_view(row, reference, choice["reference_language"])
            _fill_card(holes[label], card, _metrics_per_row(len(models)))
            rows.append(row)
            cards.append(card)
        for vad_id in choice.get("vads", []):  # speech segments: a waveform lane each, no card
            progress.progress(1.0, text=f"Detecting speech with {vad_id}…")
            rows.append(ResultRecord(**detect_into_run(comp.run_id, clip, vad_id, ui_state.model_cache())))
        progress.empty()
    finally:  # also when interrupted: the run's status is set and what finished is kept for the next rerun
        comp.finish()
        if rows:
            st.session_state["last"] = compare_view.compare_outcome(comp.run_id, key, clip, env, rows, cards, states)
    return st.session_state.get("last")


def _show_last(out: compare_view.CompareOutcome) -> None:
    st.subheader(f"Results · run #{out.run_id}")
    holes = _card_shells([c.label for c in out.cards], out.states)
    for card in out.cards:
        _fill_card(holes[card.label], card, _metrics_per_row(len(out.cards)))


def _settings_picker(picked: list[str]) -> tuple[dict, list[str]]:
    """Precision and beam for every model (like for like by default), and extra variants of a picked model."""
    with st.expander("Settings — one precision and one beam for every model unless you add a variant"):
        c = st.columns(2)
        precision = c[0].selectbox("Precision (compute type)", compare_view.PRECISIONS, key="precision",
                                   format_func=compare_view.precision_label)
        beam = c[1].number_input("Beam size (1 = greedy)", min_value=1, value=DEFAULT_BEAM, step=1, key="beam")
        variants: list[str] = st.session_state.setdefault("variants", [])
        st.caption("Add the same model at other settings, as a card of its own (e.g. int8 next to float32).")
        v = st.columns([3, 2, 1.5, 1.2], vertical_alignment="bottom")
        model = v[0].selectbox("Model", picked, key="variant_model", index=None, placeholder="a ticked model")
        v_precision = v[1].selectbox("Precision", compare_view.PRECISIONS, key="variant_precision",
                                     format_func=lambda p: p or "as above")
        v_beam = v[2].number_input("Beam", min_value=1, value=int(beam), step=1, key="variant_beam")
        if v[3].button("Add variant", key="add_variant", disabled=model is None):
            text = compare_view.variant_text(model, v_precision, int(v_beam))
            if text not in variants:
                variants.append(text)
        for i, text in enumerate(list(variants)):
            if st.button(f"✕ {text}", key=f"drop_variant:{i}", help="Remove this variant"):
                variants.remove(text)
                st.rerun()
    choice = {"compute_type": precision or None, "beam_size": int(beam),
              "reference_language": st.session_state.get("ref_language") or None}
    return choice, [*picked, *(t for t in variants if t.partition("@")[0] in picked)]


def _show_rest(out: compare_view.CompareOutcome) -> None:
    failed = sum(1 for c in out.cards if c.error)
    if out.run_id is not None:
        st.page_link("screens/history.py", label=f"Open run #{out.run_id} in History", icon=":material/history:",
                     query_params={"run": str(out.run_id)})
    if failed == len(out.cards):
        st.warning("Every model failed on this clip; their errors are in the cards above.")
    st.subheader("Audio and segments")
    st.caption(fmt.md_escape(out.clip_caption))
    st.audio(out.audio, format=out.mime)
    st.plotly_chart(out.waveform, key="waveform", config={"displaylogo": False})
    if out.vad is not None:
        st.subheader("Voice activity")
        st.caption("Speech found by each VAD, how often two VADs agree (10 ms frames), and the share of each "
                   "model's words whose middle lies inside that VAD's speech.")
        st.dataframe(out.vad, hide_index=True, key="vad_table")
    st.subheader("Summary")
    st.plotly_chart(out.summary_chart, key="summary", config={"displaylogo": False})
    st.dataframe(out.summary, hide_index=True, column_config={
        "Latency (s)": st.column_config.NumberColumn(format="%.3f"),
        "RTFx": st.column_config.NumberColumn(format="%.1f"),
        "WER (%)": st.column_config.NumberColumn(format="%.1f"),
        "CER (%)": st.column_config.NumberColumn(format="%.1f"),
        "Load (s)": st.column_config.NumberColumn(format="%.2f"),
    })

st.title("Compare models")
st.caption("One recording through several speech models: transcripts, errors against the reference, latency.")

states = store.model_states()
last: compare_view.CompareOutcome | None = st.session_state.get("last")
left, right = st.columns([3, 2], gap="large")
with left:
    chosen = _audio_input()
    clip, dec = None, None
    if chosen is not None:
        key, name, read = chosen
        dec = ui_state.decoded(key, name, read)
        if dec.error:
            st.error(dec.error, icon=":material/graphic_eq:")
        else:
            clip = dec.clip
            st.caption(fmt.md_escape(fmt.clip_caption(clip)))
    preview = st.empty()  # the input's own player, cleared when a run starts (the results have one)
    if clip is not None and (last is None or last.clip_key != key):
        preview.audio(clip.data, format=fmt.mime_for(clip.name))
with right:
    st.text_area("Reference transcript (optional)", key="reference", height=140, on_change=_on_reference,
                 placeholder="What was said. With a reference, each card shows WER, CER and a word diff.")
    st.selectbox("Reference language", compare_view.REFERENCE_LANGUAGES, key="ref_language",
                 format_func=compare_view.language_label,
                 help="Chooses the text normaliser and the headline metric (CER for Chinese, Japanese, Thai…) "
                      "and warns when a model heard another language.")

st.subheader("Models")
picked = _model_picker(states)
vads = _vad_picker(states)
choice, to_run = _settings_picker(picked)
choice["vads"], choice["vad_first"] = vads, st.session_state.get("vad_first")
go_col, why_col = st.columns([1, 4], vertical_alignment="center")
mic = bool(st.session_state.get("live_mode")) and st.session_state.get("live_source") == LIVE_SOURCES[1]
ready = clip is not None and bool(picked)
clicked = False
if mic:
    why_col.caption("Microphone: press **Start microphone** below; every ticked model listens at once.")
else:
    clicked = go_col.button("Run comparison", type="primary", key="run", disabled=not ready,
                            icon=":material/play_arrow:")
    if not ready:
        missing = [w for w, ok in (("a recording", clip is not None), ("at least one model", bool(picked))) if not ok]
        why_col.caption(f"Choose {' and '.join(missing)} to run.")
    else:
        why_col.caption(f"{fmt.plural(len(to_run), 'model')} on {fmt.md_escape(clip.name)}, like for like; "
                        "models run one after another so timings stay fair, and the run is stored.")

live = go_col.toggle("Live", key="live_mode", help="Stream the clip: partial and committed text as it plays.")
if live:
    why_col.radio("Live source", LIVE_SOURCES, key="live_source", horizontal=True,
                  help="The recording: each model streams it alone, then the page replays it in step with the "
                       "audio. The microphone: every model hears you at once, in real time.")
st.divider()
if mic:
    from dashboard import live as live_mode

    live_mode.render_mic(picked, (st.session_state.get("reference") or "").strip() or None)
elif clicked and ready and live:
    from dashboard import live as live_mode

    preview.empty()
    live_mode.render(clip, picked, (st.session_state.get("reference") or "").strip() or None)
elif clicked and ready:
    preview.empty()
    reference = (st.session_state.get("reference") or "").strip() or None
    outcome = _run(clip, key, dec.envelope, to_run, reference, states, choice)
    if outcome is not None:
        _show_rest(outcome)
elif last is not None:
    _show_last(last)
    _show_rest(last)
else:
    st.info("Choose a recording, tick one or more models and press **Run comparison**. Results appear here, "
            "one card per model, and every run is kept in History.", icon=":material/lightbulb:")
