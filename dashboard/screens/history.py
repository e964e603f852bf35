"""History: every stored run, newest first; filter, open, replay, export, delete."""

from __future__ import annotations

import streamlit as st

from dashboard import cards as ui_cards
from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import history as history_view
from dashboard.views import live as live_view
from lab import store
from lab.catalog import catalog
from lab.errors import LabError
from lab.store import ResultRecord
from lab.vad import is_vad
from lab.vad import summary_rows as vad_rows

PAGE_SIZES = (10, 25, 50, 100)
MAX_CARDS = 6


def _reset_page() -> None:
    st.session_state["page"] = 1


def _open(run_id: int | None) -> None:
    if run_id is None:
        st.query_params.pop("run", None)
    else:
        st.query_params["run"] = str(run_id)
    st.session_state.pop("confirm_delete", None)


def _on_pick() -> None:
    _open(st.session_state.get("open_run"))


def _delete(run_id: int) -> None:
    try:
        store.delete_run(run_id)
        st.session_state["history_flash"] = ("success", f"Run #{run_id} deleted.")
    except LabError as e:
        st.session_state["history_flash"] = ("error", str(e))
    except Exception as e:  # e.g. a baseline still points at the run; a callback must not raise
        st.session_state["history_flash"] = ("error", f"Run #{run_id} could not be deleted ({type(e).__name__}: {e}).")
    st.session_state.pop("open_run", None)
    _open(None)


def _requested_run() -> int | None:
    raw = st.query_params.get("run")
    return int(raw) if raw and raw.isdigit() else None


def _filters() -> tuple[store.RunFilter, int]:
    models = list(dict.fromkeys([*catalog(), *history_view.result_models()]))
    kinds = history_view.run_kinds()
    c = st.columns([3, 2, 3, 3, 1.4])
    model = c[0].selectbox("Model", models, index=None, placeholder="All models", key="f_model", on_change=_reset_page)
    kind = c[1].selectbox("Kind", kinds, index=None, placeholder="All kinds", key="f_kind", on_change=_reset_page)
    dates = c[2].date_input("Dates (UTC)", value=[], key="f_dates", on_change=_reset_page)
    clip = c[3].text_input("Clip name contains", key="f_clip", on_change=_reset_page, placeholder="e.g. jfk")
    size = c[4].selectbox("Per page", PAGE_SIZES, index=1, key="page_size", on_change=_reset_page)
    return history_view.run_filter(model, kind, tuple(dates), clip), size


def _result_column(row: ResultRecord, reference: str | None, per_row: int, reference_language: str | None) -> None:
    card = ui_cards.card_view(row, reference, reference_language)
    with st.container(border=True, key=f"detail-{fmt.slug(card.label)}"):
        st.html(f'<div style="height:4px;background:{card.color};border-radius:2px"></div>')
        st.markdown(f"**{fmt.md_escape(card.title)}**  \n`{card.label}`")
        ui_cards.render_card_body(card, per_row)


def _stream_replay(results: list[ResultRecord]) -> None:
    """A stored stream run: what each model's card showed at a chosen moment, and its streaming metrics."""
    shown = [(r.model_id, *live_view.replay(r.extra)) for r in results]
    lines = [line for _, _, line in shown if line is not None]
    if not lines:
        return
    st.subheader("Stream replay")
    end = max(line.ticks[-1].at_s if line.ticks else line.duration_s for line in lines)
    t = st.slider("Time since the stream started (s)", 0.0, float(round(end + 0.05, 2)), float(round(end, 2)),
                  step=0.1, key="replay_t")
    for model, metrics, line in shown:
        with st.container(border=True, key=f"replay-{fmt.slug(model)}"):
            st.markdown(f"**{fmt.md_escape(model)}**")
            if line is not None:
                st.html(live_view.card_html(model, line, t))
            st.dataframe([metrics], hide_index=True)


def _detail(run_id: int) -> None:
    try:
        run = store.get_run(run_id)
    except LabError:
        st.warning(f"Run #{run_id} does not exist (any more). Pick another run above.")
        return
    st.subheader(f"Run #{run_id}")
    st.caption(f"{fmt.fmt_when(run.created_at)} UTC · {run.kind} · {run.status}")
    results = run.results
    clips = run.clip_names
    as_table = history_view.as_table(run, MAX_CARDS)
    m = st.columns(4)
    m[0].metric("Clip", run.clip or (f"{len(clips)} clips" if clips else "—"), border=True)
    m[1].metric("Audio", fmt.fmt_seconds(run.duration_s, 1), border=True)
    m[2].metric("Models", len(run.models), border=True)
    if as_table:
        m[3].metric("Results", len(results), help=f"{run.errors} failed" if run.errors else None, border=True)
    else:
        m[3].metric("Best WER", fmt.fmt_pct(run.best_wer), border=True,
                    help="The best model's WER on this clip (one clip, not a corpus figure)")
    path = store.clip_audio_path(run.clip_id) if run.clip_id else None
    if path is not None:
        st.audio(str(path), format=fmt.mime_for(path.name))
    elif clips:
        st.caption(f"Over {len(clips)} clips: {fmt.md_escape(', '.join(sorted(clips.values())))}")
    else:
        st.caption("This run's audio was not kept, so it cannot be replayed.")
    if run.reference:
        st.caption(f"Reference: {fmt.md_escape(run.reference)}")
    if not results:
        st.info("This run has no results (it may have been interrupted before any model finished).")
    if as_table:
        corpus, verdicts = history_view.eval_summary(run.summary)
        if not corpus.empty:
            st.markdown("**Per model, over the dataset** (corpus WER/CER: errors summed over every clip)")
            st.dataframe(corpus, hide_index=True)
            for v in verdicts:
                st.caption(fmt.md_escape(v))
        st.markdown("**Every result**")
        st.dataframe(history_view.results_frame(run), hide_index=True)
        results = []
    asr = [r for r in results if not is_vad(r)]  # a VAD's speech is a waveform lane and a table row, not a card
    per_row = min(len(asr), 3)
    for start in range(0, len(asr), 3):
        for row, col in zip(asr[start:start + 3], st.columns(per_row or 1), strict=False):
            with col:
                _result_column(row, run.reference, 2 if per_row == 3 else 3, run.settings.get("reference_language"))
    if run.kind == "stream" and results:
        _stream_replay(results)
    vads = vad_rows(run.results, run.duration_s) if run.duration_s else []
    if vads:
        st.markdown("**Voice activity** (speech %, agreement between VADs, ASR words inside each VAD's speech)")
        st.dataframe(vads, hide_index=True, key="history_vad")
    if path is not None and any(r.segments for r in results):
        dec = ui_state.decoded(f"stored:{path.name}", path.name, path.read_bytes)
        if dec.envelope is not None:
            with st.expander("Waveform and segments"):
                st.plotly_chart(ui_cards.waveform_figure(dec.envelope, results), key="detail_wave",
                                config={"displaylogo": False})
    with st.expander("Settings, machine and stored summary"):
        st.json({"settings": run.settings, "machine": run.machine, "summary": run.summary},
                expanded=False)
    if st.session_state.get("confirm_delete") == run_id:
        st.warning(f"Delete run #{run_id} and its {len(run.results)} result(s)? This cannot be undone.")
        a, b, _ = st.columns([1, 1, 6])
        a.button("Yes, delete", type="primary", key="delete_yes", on_click=_delete, args=(run_id,))
        b.button("Cancel", key="delete_no", on_click=lambda: st.session_state.pop("confirm_delete", None))
    else:
        st.button("Delete this run", key="delete", icon=":material/delete:",
                  on_click=lambda: st.session_state.update(confirm_delete=run_id))

st.title("History")
st.caption("Every stored run, newest first. Filter them, open one to replay its audio and read its transcripts, "
           "export what you filtered, or delete a run.")
flash = st.session_state.pop("history_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])

if store.count_runs() == 0:
    st.info("No runs yet. Run a comparison on the Compare page (or `lab transcribe FILE -m MODEL` on the command "
            "line) and it appears here.", icon=":material/lightbulb:")
    st.page_link("screens/compare.py", label="Go to Compare", icon=":material/compare_arrows:")
else:
    f, size = _filters()
    total = store.count_runs(f)
    pages = history_view.page_count(total, size)
    if st.session_state.get("page", 1) > pages:
        st.session_state["page"] = pages
    if total == 0:
        st.info("No runs match these filters. Clear a filter to see more.", icon=":material/filter_alt_off:")
    else:
        nav, info, csv_col, json_col = st.columns([1.2, 4, 1.2, 1.2], vertical_alignment="bottom")
        page = nav.number_input("Page", min_value=1, max_value=pages, step=1, key="page")
        offset = (page - 1) * size
        runs = store.list_runs(size, offset, f)
        info.caption(f"Runs {offset + 1:,}–{offset + len(runs):,} of {total:,} · page {page} of {pages:,}")
        csv_col.download_button("CSV", data=lambda: history_view.export_csv(f), file_name="model-lab-runs.csv",
                                mime="text/csv", on_click="ignore", icon=":material/download:", key="export_csv",
                                help="All filtered runs, one row per model result")
        json_col.download_button("JSON", data=lambda: history_view.export_json(f), file_name="model-lab-runs.json",
                                 mime="application/json", on_click="ignore", icon=":material/download:",
                                 key="export_json", help="All filtered runs with their results nested")
        st.dataframe(history_view.runs_frame(runs), hide_index=True, key="runs_table", column_config={
            "Audio (s)": st.column_config.NumberColumn(format="%.1f"),
        })

        requested = _requested_run()
        ids = [r.run_id for r in runs]
        if requested is not None and requested not in ids:
            ids.insert(0, requested)
        if st.session_state.get("open_run") != requested:
            st.session_state["open_run"] = requested
        labels = {r.run_id: f"#{r.run_id} · {fmt.fmt_when(r.created_at)} · {r.clip or '—'} · "
                            f"{', '.join(r.models)}" for r in runs}
        st.selectbox("Open a run", ids, index=None, key="open_run", on_change=_on_pick,
                     placeholder="Pick a run on this page", format_func=lambda i: labels.get(i, f"#{i}"))

        st.subheader("Across the filtered runs")
        left, right = st.columns(2)
        lat = history_view.latency_stats(f)
        with left:
            if lat.empty:
                st.caption("No latency figures in these runs yet.")
            else:
                st.plotly_chart(history_view.latency_figure(lat), key="latency_chart", config={"displaylogo": False})
        wer = history_view.wer_over_time(f)
        with right:
            if wer.empty:
                st.caption("No WER figures in these runs: WER needs runs with a reference transcript.")
            else:
                st.plotly_chart(history_view.wer_figure(wer), key="wer_chart", config={"displaylogo": False})

        if requested is not None:
            st.divider()
            _detail(requested)
