"""Benchmarks: evaluate models over a dataset, robustness to perturbations, regression gates and stability."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import format as fmt
from dashboard import picker
from dashboard import state as ui_state
from dashboard.views import benchmarks as benchmarks_view
from dashboard.views import history as history_view
from dashboard.views import registry as registry_view
from lab import store
from lab.charts import accuracy_speed_figure
from lab.errors import LabError
from lab.eval import regress
from lab.eval.distributed import RAY_HINT, RayExecutor, ray_available
from lab.eval.evaluate import Dataset, evaluate, load_dataset
from lab.eval.perturb import PERTURBATIONS, robustness
from lab.eval.stability import stability
from lab.store import RunDetail

OTHER = "__other__"
DEFAULT_PERTURBATIONS = ["white_snr10", "babble_snr10", "telephone_8k", "speed_1.1"]
SOURCES = ("Clip from the dataset", "Upload a file")
PREVIOUS = 50  # previous runs offered for reopening


def _progress(bar: DeltaGenerator) -> Callable[[int, int, str], None]:
    """The core's progress callback (done, total, what) drawn as a progress bar."""
    def update(done: int, total: int, what: str) -> None:
        bar.progress(done / total if total else 1.0, text=f"{fmt.md_escape(what)} · {done} of {total}")

    return update


def _dataset() -> Dataset | None:
    choices = {str(c.path): c.label for c in benchmarks_view.dataset_choices()}
    options = [*choices, OTHER]
    picked = st.selectbox("Dataset (a manifest CSV: file,reference[,language,…])", options, key="b_dataset",
                          format_func=lambda p: choices.get(p, "Another manifest (type its path)…"))
    if picked == OTHER:
        path = st.text_input("Manifest path", key="b_dataset_path", placeholder="/path/to/manifest.csv").strip()
        if not path:
            st.caption("Type the path of a manifest CSV; file paths in it are relative to the CSV.")
            return None
    else:
        path = picked
    try:
        ds = load_dataset(Path(path).expanduser())
    except LabError as e:
        st.error(str(e), icon=":material/dataset:")
        return None
    st.caption(fmt.md_escape(benchmarks_view.dataset_caption(ds)))
    return ds


def _asr_options() -> list[picker.ModelOption]:
    return picker.model_options(store.model_states(), ui_state.availability(), task="asr")


def _models(options: list[picker.ModelOption]) -> list[str]:
    ready = [o.id for o in options if o.available]
    linked = st.query_params.get("model")  # a Registry refusal links here with the model it is about
    if linked in ready and "b_models" not in st.session_state:
        st.session_state["b_models"] = [linked]
    picked = st.multiselect("Models", ready, key="b_models", placeholder="Choose one or more ASR models")
    missing = [o for o in options if not o.available]
    if missing:
        st.caption("Not available here: " + " · ".join(
            f"`{o.id}` ({fmt.md_escape(picker.short_hint(o.id, o.hint))})" for o in missing))
    return picked


def _report_download(run_id: int, key: str) -> None:
    st.download_button("HTML report", data=lambda: benchmarks_view.report_html_bytes(run_id),
                       file_name=f"model-lab-run-{run_id}.html", mime="text/html", on_click="ignore",
                       icon=":material/download:", key=key,
                       help="One self-contained file (tables, charts, transcripts, machine); opens without a server")


def _history_link(run_id: int) -> None:
    st.page_link("screens/history.py", label=f"Open run #{run_id} in History", icon=":material/history:",
                 query_params={"run": str(run_id)})


def _reopen(label: str, kind: str, key: str) -> int | None:
    """A picker over the stored runs of `kind`; its value is the run shown below it."""
    runs = store.list_runs(PREVIOUS, 0, store.RunFilter(kind=kind))
    labels = benchmarks_view.run_labels(runs)
    ids = list(labels)
    current = st.session_state.get(key)
    if current is not None and current not in ids:
        st.session_state[key] = None  # deleted meanwhile
    if not ids:
        return None
    return st.selectbox(label, ids, index=None, key=key, format_func=lambda i: labels.get(i, f"#{i}"),
                        placeholder="Pick a stored run to show it again (nothing is re-run)")

# --- evaluation ------------------------------------------------------------------------------------------

def _run_eval(ds: Dataset, models: list[str], on_ray: bool = False) -> int | None:
    bar = st.progress(0.0, text="Decoding the clips…")
    try:
        with ui_state.exclusive():
            report = evaluate(ds, models, cache=ui_state.model_cache(), progress=_progress(bar),
                              executor=RayExecutor.from_settings() if on_ray else None)
    except LabError as e:
        bar.empty()
        st.error(str(e), icon=":material/error:")
        return None
    bar.empty()
    return report.run_id


def _stored_run(run_id: int) -> RunDetail | None:
    """The stored run a section reopens, or None after saying it is gone (deleted in History meanwhile)."""
    try:
        return store.get_run(run_id)
    except LabError:
        st.warning(f"Run #{run_id} does not exist (any more).")
        return None


def _show_eval(run_id: int) -> None:
    run = _stored_run(run_id)
    if run is None:
        return
    settings = run.settings or {}
    st.subheader(f"Evaluation #{run_id}")
    st.caption(f"{fmt.fmt_when(run.created_at)} UTC · {run.status} · "
               f"{fmt.md_escape(str(settings.get('dataset', '?')))} · {settings.get('clips', '?')} clips")
    summary = run.summary
    if not summary:
        st.info("This evaluation has no summary: it was interrupted before every model finished. Its stored "
                "results are in History.", icon=":material/info:")
        _history_link(run_id)
        return
    corpus, verdicts = history_view.eval_summary(summary)
    st.dataframe(corpus, hide_index=True, key="b_eval_table", column_config={
        "Flags": st.column_config.TextColumn(help="output flags per clip (e.g. truncated, repetition)")})
    if verdicts:
        st.markdown("**Paired comparisons** (same clips; bootstrap 95% CI of the WER difference)")
        for v in verdicts:
            st.caption(fmt.md_escape(v))
    elif len(corpus) > 1:
        st.caption("No paired verdicts: the models share no scored clip.")
    fig = accuracy_speed_figure(summary)
    if fig is not None:
        st.plotly_chart(fig, key="b_eval_scatter", config={"displaylogo": False})
    else:
        st.caption("No accuracy-vs-speed chart: no model has both a WER (needs references) and a speed.")
    for note in summary.get("notes") or []:
        st.caption(f":material/info: {fmt.md_escape(note)}")
    a, b = st.columns([1, 3], vertical_alignment="center")
    with a:
        _report_download(run_id, "b_eval_report")
    with b:
        _history_link(run_id)
    with st.expander("Every clip, every model"):
        st.dataframe(history_view.results_frame(run), hide_index=True)


def _evaluation_tab(ds: Dataset | None, models: list[str]) -> None:
    st.caption("Each model runs over every clip before the next starts (one load, fair timing). Corpus WER comes "
               "with a bootstrap 95% CI; pairs of models get a paired verdict on the same clips.")
    ready = ds is not None and bool(models)
    go_col, why = st.columns([1, 4], vertical_alignment="center")
    clicked = go_col.button("Run evaluation", type="primary", key="b_eval_run", disabled=not ready,
                            icon=":material/play_arrow:")
    why.caption(f"{len(models)} model(s) × {len(ds.rows)} clip(s); the run is stored." if ready
                else "Choose a dataset and at least one model above.")
    on_ray = st.toggle("Spread the clips over Ray", key="b_eval_ray", disabled=not ray_available(),
                       help="LAB_RAY_ADDRESS's cluster, else a local Ray here." if ray_available()
                       else RAY_HINT)
    reopen, out = st.container(), st.container()
    if clicked and ready:
        with out:
            run_id = _run_eval(ds, models, on_ray)
        if run_id is not None:
            st.session_state["b_eval_open"] = run_id  # the picker below is not drawn yet: allowed
    with reopen:
        shown = _reopen("Previous evaluations", "eval", "b_eval_open")
    with out:
        if shown is not None:
            _show_eval(shown)
        elif not clicked:
            st.info("Run an evaluation, or reopen a previous one above. Results show corpus WER with its 95% CI, "
                    "CER, substitutions/deletions/insertions, speed and latency percentiles per model.",
                    icon=":material/lightbulb:")

# --- robustness --------------------------------------------------------------------------------------------

def _robustness_tab(ds: Dataset | None, models: list[str]) -> None:
    st.caption("Deterministic perturbed copies of the dataset (noise at several SNRs, speed, telephone band, "
               "clipping); every model is evaluated on the clean and perturbed clips and WER is plotted per "
               "perturbation.")
    a, b = st.columns([4, 1])
    names = a.multiselect("Perturbations", list(PERTURBATIONS), default=DEFAULT_PERTURBATIONS, key="b_perturb")
    seed = b.number_input("Seed", min_value=0, value=0, step=1, key="b_seed")
    ready = ds is not None and bool(models) and bool(names)
    go_col, why = st.columns([1, 4], vertical_alignment="center")
    clicked = go_col.button("Run robustness", type="primary", key="b_robust_run", disabled=not ready,
                            icon=":material/play_arrow:")
    if ready:
        scored = sum(1 for r in ds.rows if r.reference)
        why.caption(f"{scored} clip(s) with a reference × {len(names) + 1} versions × {len(models)} model(s); "
                    "stored as a robustness run.")
    else:
        why.caption("Choose a dataset, at least one model and one perturbation.")
    if clicked and ready:
        bar = st.progress(0.0, text="Writing the perturbed copies…")
        try:
            with ui_state.exclusive():
                report, curves = robustness(ds, models, benchmarks_view.robustness_dir(ds, int(seed), names), int(seed),
                                            names, cache=ui_state.model_cache(), progress=_progress(bar))
        except LabError as e:
            st.error(str(e), icon=":material/error:")
        else:
            st.session_state["b_robust"] = benchmarks_view.robustness_outcome(report.run_id, str(ds.path), curves)
        finally:
            bar.empty()
    out: benchmarks_view.RobustnessOutcome | None = st.session_state.get("b_robust")
    if out is None:
        st.info("Pick perturbations and press **Run robustness**.", icon=":material/lightbulb:")
        return
    st.subheader(f"Robustness #{out.run_id}" if out.run_id else "Robustness")
    st.caption(fmt.md_escape(out.dataset))
    st.plotly_chart(out.figure, key="b_robust_chart", config={"displaylogo": False})
    st.dataframe(out.frame, hide_index=True, key="b_robust_table",
                 column_config={m: st.column_config.NumberColumn(format="%.1f%%") for m in out.curves})
    if out.run_id is not None:
        c1, c2 = st.columns([1, 3], vertical_alignment="center")
        with c1:
            _report_download(out.run_id, "b_robust_report")
        with c2:
            _history_link(out.run_id)

# --- regression gates ---------------------------------------------------------------------------------------

def _set_baselines(ds: Dataset, models: list[str]) -> None:
    """What `lab baseline set ID MANIFEST` does, for each picked model."""
    bar = st.progress(0.0, text="Evaluating for the baseline…")
    try:
        with ui_state.exclusive():
            made = [regress.set_baseline(m, ds.path, cache=ui_state.model_cache(), progress=_progress(bar))
                    for m in models]
    except LabError as e:
        st.session_state["b_regress_flash"] = ("error", str(e))
        return
    finally:
        bar.empty()
    st.session_state["b_regress_flash"] = ("success", " · ".join(
        f"Baseline #{b.id}: {b.model_id} on {Path(b.dataset).name}, WER {fmt.fmt_pct(b.wer)}" for b in made))


def _run_gate(config: regress.RegressConfig) -> None:
    """What `lab regress CONFIG.yaml` does; the stored report shows below."""
    bar = st.progress(0.0, text="Running the gate…")
    try:
        with ui_state.exclusive():
            report = regress.regress(config, cache=ui_state.model_cache(), progress=_progress(bar))
    except LabError as e:
        st.session_state["b_regress_flash"] = ("error", str(e))
        return
    finally:
        bar.empty()
    st.session_state["b_regress_flash"] = (
        ("success", f"Report #{report.report_id} passed every check.") if report.passed
        else ("error", f"Report #{report.report_id} failed; its checks are below."))


def _gate_from_page(ds: Dataset | None, models: list[str]) -> None:
    a, b, c = st.columns(3)
    max_wer = a.number_input("Max corpus WER (%)", min_value=0.0, max_value=100.0, value=20.0, step=1.0,
                             key="b_t_max_wer")
    points = b.number_input("Max WER increase over the baseline (points)", min_value=0.0, value=1.0, step=0.5,
                            key="b_t_points")
    ratio = c.number_input("Max p95 latency ratio to the baseline", min_value=0.0, value=1.5, step=0.1,
                           key="b_t_ratio")
    ready = ds is not None and bool(models)
    if st.button("Run the gate", type="primary", key="b_regress_run", disabled=not ready,
                 icon=":material/play_arrow:"):
        try:
            config = regress.make_config([ds.path], models, {
                "max_wer": max_wer / 100, "max_wer_increase_points": points,
                "max_p95_latency_ratio": ratio})
        except LabError as e:
            st.session_state["b_regress_flash"] = ("error", str(e))
        else:
            _run_gate(config)


def _gate_from_file() -> None:
    files = {str(p): f"data/{p.name}" for p in benchmarks_view.config_choices()}
    picked = st.selectbox("Regression config (YAML)", [*files, OTHER], key="b_regress_file",
                          format_func=lambda p: files.get(p, "Another config (type its path)…"))
    if picked == OTHER:
        path = st.text_input("Config path", key="b_regress_config",
                             placeholder="/path/to/regress.yaml (the format is in the README)").strip()
    else:
        path = picked
    if st.button("Run this config", type="primary", key="b_regress_file_run", disabled=not path,
                 icon=":material/play_arrow:"):
        try:
            config = regress.load_config(Path(path).expanduser())
        except LabError as e:
            st.session_state["b_regress_flash"] = ("error", str(e))
        else:
            _run_gate(config)


def _regression_tab(ds: Dataset | None, models: list[str]) -> None:
    st.caption("A gate checks models on a dataset against thresholds: absolute corpus WER, WER increase over the "
               "model's baseline, p95 latency ratio. Each run stores a report; a passing one newer than a "
               "candidate's last change lets it be promoted to production on Registry. The latest failed report "
               "raises the alert at the top of this page and on Registry.")
    with st.container(border=True):
        st.markdown("**1 · Baseline** on the dataset above (what `lab baseline set ID MANIFEST` does)")
        if ds is None or not models:
            st.caption("Choose a dataset and at least one model above.")
        else:
            if st.button("Set baseline", key="b_baseline_set", icon=":material/flag:",
                         help="Evaluates each picked model on the dataset and stores the figures as its baseline"):
                _set_baselines(ds, models)
            st.dataframe(benchmarks_view.baselines_frame(models, ds.path), hide_index=True, key="b_baselines")
    with st.container(border=True):
        st.markdown("**2 · Gate** (what `lab regress CONFIG.yaml` does)")
        source = st.radio("Gate", ("The dataset and models above", "A config file"), horizontal=True,
                          key="b_regress_source", label_visibility="collapsed")
        if source == "A config file":
            _gate_from_file()
        else:
            _gate_from_page(ds, models)
    flash = st.session_state.pop("b_regress_flash", None)
    if flash:
        (st.success if flash[0] == "success" else st.error)(fmt.md_escape(flash[1]))
    shown = benchmarks_view.regression_views(regress.reports(20))
    if not shown:
        st.info("No regression reports yet. Set baselines and run a gate above, or `lab regress CONFIG.yaml` on "
                "the command line.", icon=":material/rule:")
        return
    for i, v in enumerate(shown):
        icon = ":material/check_circle:" if v.passed else ":material/cancel:"
        with st.expander(fmt.md_escape(v.title), expanded=i == 0, icon=icon):
            st.dataframe(v.checks, hide_index=True, key=f"b_checks_{v.report_id}",
                         column_config={"Passed": st.column_config.CheckboxColumn(width="small")})
            if v.runs:
                st.caption("Evaluation runs: " + " · ".join(f"[#{r}](/history?run={r})" for r in v.runs))

# --- stability -----------------------------------------------------------------------------------------------

def _stability_clip(ds: Dataset | None) -> ui_state.Decoded | None:
    source = st.radio("Clip", SOURCES, horizontal=True, key="b_stab_source", label_visibility="collapsed")
    if source == SOURCES[0]:
        rows = {str(r.file): r for r in ds.rows} if ds is not None else {}
        if not rows:
            st.caption("Choose a dataset above, or upload a file.")
            return None
        picked = st.selectbox("Clip from the dataset", list(rows), key="b_stab_clip",
                              format_func=lambda p: rows[p].name)
        path = Path(picked)
        if not path.is_file():
            st.error(f"{path}: no such file.", icon=":material/graphic_eq:")
            return None
        dec = ui_state.decoded(f"file:{path}:{path.stat().st_mtime_ns}", path.name, path.read_bytes)
    else:
        up = st.file_uploader("Audio file", type=list(fmt.AUDIO_TYPES), key="b_stab_upload")
        if up is None:
            return None
        dec = ui_state.decoded(f"upload:{up.file_id}", up.name, up.getvalue)
    if dec.error:
        st.error(dec.error, icon=":material/graphic_eq:")
        return None
    st.caption(fmt.md_escape(fmt.clip_caption(dec.clip)))
    return dec


def _show_stability(run_id: int) -> None:
    run = _stored_run(run_id)
    if run is None:
        return
    summary = run.summary or {}
    st.subheader(f"Stability #{run_id}")
    st.caption(f"{fmt.fmt_when(run.created_at)} UTC · {fmt.md_escape(summary.get('model', '?'))} · "
               f"{fmt.md_escape(run.clip or '?')} · {summary.get('runs', '?')} runs after one first run")
    if not summary.get("latencies_s"):
        st.info("This run has no stored latencies (every run failed or it was interrupted).")
        _history_link(run_id)
        return
    metrics = benchmarks_view.stability_metrics(summary)
    for start in range(0, len(metrics), 4):
        for m, col in zip(metrics[start:start + 4], st.columns(4), strict=False):
            col.metric(m.label, m.value, help=m.help, border=True)
    if summary.get("memory_growth"):
        st.warning("Resident memory grew by more than 10% over the runs: a possible leak.", icon=":material/memory:")
    if not summary.get("identical"):
        st.warning("The transcripts were not identical on every run: this model is not deterministic here.",
                   icon=":material/shuffle:")
    hist, mem = benchmarks_view.stability_figures(summary)
    left, right = st.columns(2)
    left.plotly_chart(hist, key="b_stab_hist", config={"displaylogo": False})
    right.plotly_chart(mem, key="b_stab_mem", config={"displaylogo": False})
    a, b = st.columns([1, 3], vertical_alignment="center")
    with a:
        _report_download(run_id, "b_stab_report")
    with b:
        _history_link(run_id)


def _stability_tab(ds: Dataset | None, options: list[picker.ModelOption], picked: list[str]) -> None:
    st.caption("The same clip through one model N times after a first run: latency spread, first-run vs warm, "
               "memory over the runs and whether the transcript is identical every time.")
    dec = _stability_clip(ds)
    ready_models = [o.id for o in options if o.available]
    a, b = st.columns([3, 1])
    model = a.selectbox("Model", ready_models, key="b_stab_model",
                        index=ready_models.index(picked[0]) if picked else (0 if ready_models else None))
    runs = b.number_input("Runs", min_value=1, max_value=500, value=20, step=1, key="b_stab_runs")
    ready = dec is not None and model is not None
    go_col, why = st.columns([1, 4], vertical_alignment="center")
    clicked = go_col.button("Run stability", type="primary", key="b_stab_run", disabled=not ready,
                            icon=":material/play_arrow:")
    why.caption(f"{int(runs)} runs of {model} on {fmt.md_escape(dec.clip.name)}; stored." if ready
                else "Choose a clip and a model.")
    reopen, out = st.container(), st.container()
    if clicked and ready:
        with out:
            bar = st.progress(0.0, text=f"Loading {model} and running it once…")
            try:
                with ui_state.exclusive():
                    report = stability(dec.clip, model, int(runs), cache=ui_state.model_cache(),
                                       progress=_progress(bar))
            except LabError as e:
                st.error(str(e), icon=":material/error:")
            else:
                st.session_state["b_stab_open"] = report.run_id
            finally:
                bar.empty()
    with reopen:
        shown = _reopen("Previous stability runs", "stability", "b_stab_open")
    with out:
        if shown is not None:
            _show_stability(shown)
        elif not clicked:
            st.info("Choose a clip and a model and press **Run stability**, or reopen a previous run above.",
                    icon=":material/lightbulb:")

st.title("Benchmarks")
st.caption("Evidence over datasets, not single clips: evaluations with confidence intervals, robustness to "
           "perturbations, regression gates against baselines, and stability over repeated runs.")
alert_box = st.empty()  # filled last, so a regression config run on this page is already reflected

with st.container(border=True):
    left, right = st.columns(2, gap="large")
    with left:
        dataset = _dataset()
    with right:
        asr = _asr_options()
        models = _models(asr)

tab_eval, tab_robust, tab_regress, tab_stab = st.tabs(
    [":material/analytics: Evaluation", ":material/waves: Robustness", ":material/rule: Regression gates",
     ":material/timer: Stability"])
with tab_eval:
    _evaluation_tab(dataset, models)
with tab_robust:
    _robustness_tab(dataset, models)
with tab_regress:
    _regression_tab(dataset, models)
with tab_stab:
    _stability_tab(dataset, asr, models)

alerts = regress.alerts()
if alerts:
    alert_box.warning(registry_view.alerts_markdown(alerts), icon=":material/warning:")
