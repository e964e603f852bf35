"""Benchmarks, Listen and Chat through Streamlit's AppTest (real models, small inputs), plus their view shaping."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import benchmarks as benchmarks_view
from dashboard.views import chat as chat_view
from dashboard.views import history as history_view
from dashboard.views import listen as listen_view
from dashboard.views import registry as registry_view
from db.models import RegressionReport, Vote
from lab import lifecycle, store
from lab.audio import SAMPLE_RATE, to_wav_bytes
from lab.catalog import catalog, get_spec
from lab.charts import accuracy_speed_figure, model_color
from lab.eval import arena, regress
from lab.settings import reload_settings
from lab.store import session
from tests.conftest import write_manifest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
TINY = "faster-whisper:tiny.en"
LFM = "lfm2.5-audio:1.5b"
PROMPT = "Rice is often served in round bowls."  # hibari says it so that tiny.en hears every word


@pytest.fixture()
def lab_db(fresh_db: str) -> Path:
    """A fresh database per test (AppTest runs the pages in this process, so they use it too)."""
    return Path(fresh_db.removeprefix("sqlite:///"))


def app(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(f"screens/{page}.py")
    return at.run()


def clean(at: AppTest) -> None:
    """No traceback and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def table(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def downloads(at: AppTest) -> dict[str, object]:
    """Download buttons by label."""
    return {d.proto.label: d.proto for d in at.get("download_button")}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def _failed_report(model: str = TINY) -> None:
    check = {"model": model, "dataset": "m.csv", "check": "max_wer", "value": 0.05, "limit": 0.0001,
             "passed": False, "detail": ""}
    with session() as s:
        s.add(RegressionReport(passed=False, config={}, models=[model],
                               report={"passed": False, "checks": [check], "runs": [], "models": [model],
                                       "datasets": ["m.csv"], "thresholds": {"max_wer": 0.0001}}))
        s.commit()


# --- Benchmarks ------------------------------------------------------------------------------------------------


def test_benchmarks_evaluates_shows_the_stored_figures_and_reopens_them(lab_db: Path, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac"])
    at = app("benchmarks")
    clean(at)
    assert any("Run an evaluation" in i.value for i in at.info)  # the empty state says what to do
    assert at.button(key="b_eval_run").disabled
    at.selectbox(key="b_dataset").set_value("__other__").run()
    at.text_input(key="b_dataset_path").input(str(manifest)).run()
    assert "1 clip, 1 with a reference" in captions(at)
    at.multiselect(key="b_models").set_value([TINY]).run()
    at.button(key="b_eval_run").click().run(timeout=300)
    clean(at)

    run_id = at.session_state["b_eval_open"]
    run = store.get_run(run_id)
    assert run.kind == "eval" and run.status == "done"
    (m,) = run.summary["models"]
    shown = table(at, "Corpus WER").iloc[0]
    assert shown["Model"] == TINY and shown["Corpus WER"] == fmt.fmt_pct(m["wer"])
    assert shown["95% CI"] == f"{fmt.fmt_pct(m['wer_ci'][0])} – {fmt.fmt_pct(m['wer_ci'][1])}"
    assert shown["RTFx"] == fmt.fmt_rtfx(m["rtfx"]) and shown["CER"] == fmt.fmt_pct(m["cer"])
    assert m["wer"] < 0.1
    assert at.get("plotly_chart"), "the accuracy-vs-speed chart"
    report = downloads(at)["HTML report"]
    assert report.deferred_file_id and report.id.endswith("b_eval_report")  # generated on click
    html = benchmarks_view.report_html_bytes(run_id).decode()
    assert html.startswith("<!doctype html>") and TINY in html and f"run {run_id}" in html

    # a new session reopens it from the store: the same figures, nothing re-run
    loads = ui_state.model_cache().loads
    again = app("benchmarks")
    again.selectbox(key="b_eval_open").set_value(run_id).run()
    clean(again)
    assert table(again, "Corpus WER").iloc[0]["Corpus WER"] == fmt.fmt_pct(m["wer"])
    assert ui_state.model_cache().loads == loads and store.count_runs() == 1


@pytest.mark.slow
def test_benchmarks_stability_and_robustness_on_one_clip(lab_db: Path, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.csv", ["jfk.flac"])
    at = app("benchmarks")
    at.selectbox(key="b_dataset").set_value("__other__").run()
    at.text_input(key="b_dataset_path").input(str(manifest)).run()
    at.multiselect(key="b_models").set_value([TINY]).run()

    at.number_input(key="b_stab_runs").set_value(3).run()
    at.button(key="b_stab_run").click().run(timeout=300)
    clean(at)
    run = store.get_run(at.session_state["b_stab_open"])
    summary = run.summary
    assert run.kind == "stability" and len(summary["latencies_s"]) == 3 and len(summary["rss_mb"]) == 4
    shown = {m.label: m.value for m in at.metric}
    assert shown["p50"] == fmt.fmt_seconds(summary["p50_s"], 3)
    assert shown["First run"] == fmt.fmt_seconds(summary["first_run_s"], 3) and shown["Transcripts"] == "identical"
    assert "HTML report" in downloads(at)

    at.multiselect(key="b_perturb").set_value(["white_snr10"]).run()
    at.button(key="b_robust_run").click().run(timeout=300)
    clean(at)
    curve = table(at, "Perturbation")
    assert list(curve["Perturbation"]) == ["clean", "white_snr10"] and TINY in curve.columns
    assert store.get_run(at.session_state["b_robust"].run_id).kind == "robustness"


def test_failed_regression_report_raises_alerts_on_benchmarks_and_registry(lab_db: Path) -> None:
    at = app("benchmarks")
    clean(at)
    assert not at.warning and any("No regression reports yet" in i.value for i in at.info)

    _failed_report()
    (line,) = regress.alerts()
    for page in ("benchmarks", "registry"):
        at = app(page)
        clean(at)
        assert "latest regression report failed" in at.warning[0].value
        assert fmt.md_escape(line) in at.warning[0].value
    at = app("benchmarks")
    checks = table(at, "Check")
    assert list(checks[["Model", "Check", "Passed"]].iloc[0]) == [TINY, "max_wer", False]

    with session() as s:  # a newer passing report clears the alert
        s.add(RegressionReport(passed=True, config={}, models=[TINY], report={"passed": True, "checks": []}))
        s.commit()
    at = app("benchmarks")
    clean(at)
    assert not at.warning


def _move(at: AppTest, model: str, target: str, reason: str) -> AppTest:
    at.selectbox(key="t_model").set_value(model)
    at.selectbox(key="t_target").set_value(target)
    at.text_input(key="t_reason").input(reason)
    return at.button(key="t_apply").click().run()


@pytest.mark.slow
def test_a_model_goes_from_experimental_to_production_using_only_the_dashboard(lab_db: Path) -> None:
    samples = next(c.path for c in benchmarks_view.dataset_choices() if c.label == "data/samples/manifest.csv")
    # 1. evaluate on Benchmarks
    at = app("benchmarks")
    at.selectbox(key="b_dataset").set_value(str(samples)).run()
    at.multiselect(key="b_models").set_value([TINY]).run()
    at.button(key="b_eval_run").click().run(timeout=300)
    clean(at)
    (m,) = store.get_run(at.session_state["b_eval_open"]).summary["models"]

    # 2. promote to candidate on Registry, which shows that evaluation's corpus WER
    reg = app("registry")
    assert table(reg, "Corpus WER").set_index("Model").loc[TINY, "Corpus WER"] == fmt.fmt_pct(m["wer"])
    _move(reg, TINY, "candidate", "corpus WER on the samples")
    clean(reg)
    assert store.model_states()[TINY] == "candidate"
    # production is refused, naming the rule, with the Benchmarks action that satisfies it
    _move(reg, TINY, "production", "ship it")
    assert "[needs-passing-regression]" in reg.error[0].value
    (link,) = reg.get("page_link")
    assert link.proto.page == "benchmarks" and "regression gate" in link.proto.label

    # 3. follow the link: the model is picked; set its baseline and run a gate on Benchmarks
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("screens/benchmarks.py")
    at.query_params["model"] = TINY
    at.run()
    assert at.multiselect(key="b_models").value == [TINY]
    at.selectbox(key="b_dataset").set_value(str(samples)).run()
    at.button(key="b_baseline_set").click().run(timeout=300)
    clean(at)
    baseline = regress.latest_baseline(TINY, samples)
    assert baseline is not None and table(at, "Baseline").iloc[0]["Baseline"] == f"#{baseline.id}"
    at.number_input(key="b_t_ratio").set_value(10.0)  # latency on a shared CPU is not what this test is about
    at.button(key="b_regress_run").click().run(timeout=300)
    clean(at)
    (report,) = regress.reports(5)
    assert report.passed and fmt.md_escape(f"Report #{report.report_id} passed") in at.success[0].value

    # 4. promote to production on Registry; the audit trail keeps the report and evaluation it passed on
    reg = app("registry")
    _move(reg, TINY, "production", "gate passed on the samples")
    clean(reg)
    assert store.model_states()[TINY] == "production"
    (last, *_) = lifecycle.history(TINY)
    assert last.metrics["regression"]["report_id"] == report.report_id
    assert last.metrics["evaluation"]["run_id"] in report.runs
    assert table(reg, "Regression report").iloc[0]["Regression report"].startswith(
        f"report #{report.report_id} passed")


def test_a_regression_config_that_does_not_exist_is_one_line(lab_db: Path) -> None:
    at = app("benchmarks")
    at.radio(key="b_regress_source").set_value("A config file").run()
    at.selectbox(key="b_regress_file").set_value("__other__").run()
    at.text_input(key="b_regress_config").input("/nowhere/regress.yaml").run()
    at.button(key="b_regress_file_run").click().run()
    assert not at.exception
    assert "no such regression config" in at.error[0].value and not regress.reports(5)


# --- Listen ----------------------------------------------------------------------------------------------------


def test_listen_synthesizes_with_hibari_stores_the_run_and_scores_the_round_trip(lab_db: Path) -> None:
    at = app("listen")
    clean(at)
    lfm = next(a for a in ui_state.availability() if a.model == LFM)
    if not lfm.available:  # an unavailable voice says what to install or set, and cannot be ticked
        assert at.checkbox(key=f"l_pick:{LFM}").disabled and fmt.md_escape(lfm.hint) in captions(at)
    at.selectbox(key="l_prompt").set_value(PROMPT).run()
    assert at.text_area(key="l_text").value == PROMPT
    at.checkbox(key="l_pick:hibari:en").check().run()
    assert at.selectbox(key="l_voice:hibari:en").value == "heart"
    at.button(key="l_go").click().run(timeout=300)
    clean(at)

    last: listen_view.ListenOutcome = at.session_state["l_last"]
    run = store.get_run(last.run_id)
    assert run.kind == "tts" and run.status == "done" and run.reference == PROMPT
    (result,) = run.results
    assert result.model_id == "hibari:en" and result.extra["voice"] == "heart"
    assert result.wer is not None and result.wer <= 0.2
    assert f"WER vs the input text: **{fmt.fmt_pct(result.wer)}**" in captions(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Duration"] == fmt.fmt_seconds(result.extra["duration_s"])
    assert shown["RTF"] == fmt.fmt_rtf(result.extra["rtf"])
    assert at.get("audio"), "a player for the synthesized speech"
    assert any(f"Open run #{last.run_id} in History" in p.proto.label for p in at.get("page_link"))


def test_blind_tts_trial_needs_both_played_stores_the_vote_and_reveals_names(lab_db: Path) -> None:
    ready = [a.model for a in ui_state.availability() if a.available and "tts" in get_spec(a.model).tasks]
    if len(ready) < 2:
        pytest.skip(f"two available TTS models needed, have {ready}")
    at = app("listen")
    at.selectbox(key="l_prompt").set_value(PROMPT).run()
    at.text_input(key="ab_voter").input("ana").run()
    at.button(key="ab_tts_new").click().run(timeout=300)
    clean(at)
    trial = at.session_state["ab_tts"].trial
    votes = [f"ab_tts_vote_{c}" for c in listen_view.VOTE_LABELS]
    assert all(at.button(key=k).disabled for k in votes)
    assert {"#### A", "#### B"} <= {m.value for m in at.markdown}  # anonymised
    assert not any(trial.model_a in m.value for m in at.markdown)
    players = len(at.get("audio"))  # the ASR tab's recording has one too
    at.button(key="ab_tts_play_a").click().run()
    assert all(at.button(key=k).disabled for k in votes) and len(at.get("audio")) == players + 1
    at.button(key="ab_tts_play_b").click().run()
    assert not any(at.button(key=k).disabled for k in votes) and len(at.get("audio")) == players + 2
    at.button(key="ab_tts_vote_b").click().run()
    clean(at)

    (vote,) = arena.votes("tts")
    assert (vote.model_a, vote.model_b, vote.winner, vote.voter) == (trial.model_a, trial.model_b, "b", "ana")
    assert vote.prompt == PROMPT and vote.run_id is not None and store.get_run(vote.run_id).kind == "tts"
    assert f"#### A was `{trial.model_a}`" in {m.value for m in at.markdown}
    assert trial.model_b in at.success[0].value
    unranked = table(at, "Provisional rating")
    assert set(unranked["Model"]) == {trial.model_a, trial.model_b}
    assert f"at least {arena.MIN_VOTES} votes" in captions(at)

    with session() as s:  # enough votes: both are ranked, the winner first
        s.add_all([Vote(task="tts", model_a=trial.model_a, model_b=trial.model_b, winner="b") for _ in range(5)])
        s.commit()
    at.run()
    ranked = table(at, "Rank")
    assert list(ranked["Model"]) == [trial.model_b, trial.model_a] and list(ranked["Rank"]) == [1, 2]


@pytest.mark.slow
def test_blind_asr_trial_shows_transcripts_without_playback(lab_db: Path) -> None:
    at = app("listen")
    at.multiselect(key="ab_asr_pool").set_value([TINY, "pocketsphinx:en-us"]).run()
    at.button(key="ab_asr_new").click().run(timeout=300)
    clean(at)
    state: listen_view.TrialState = at.session_state["ab_asr"]
    assert not at.button(key="ab_asr_vote_tie").disabled  # the judge reads: no playback needed
    at.button(key="ab_asr_vote_tie").click().run()
    (vote,) = arena.votes("asr")
    assert vote.winner == "tie" and store.get_run(state.trial.run_id).kind == "blind-asr"
    assert state.trial.model_a in at.success[0].value


# --- Chat ------------------------------------------------------------------------------------------------------


def test_chat_without_weights_says_what_to_install(lab_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_WEIGHTS_DIR", raising=False)
    reload_settings()
    ui_state.availability.clear()
    try:
        if next(a for a in ui_state.availability() if a.model == LFM).available:
            pytest.skip("LFM2.5-Audio weights are installed here")
        at = app("chat")
        clean(at)
        assert "cannot run here" in at.warning[0].value
        steps = "\n".join(m.value for m in at.markdown)
        assert "$LAB_WEIGHTS_DIR/lfm2.5-audio/1.5b" in steps and "HF_HUB_OFFLINE" in steps
        assert not at.chat_input and not at.audio_input  # nothing broken to click
    finally:
        ui_state.availability.clear()


@pytest.mark.slow
def test_chat_with_the_tiny_checkpoint_replies_and_saves(lab_db: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("liquid_audio", reason="liquid-audio is not installed")
    from tests.tiny_lfm import build_tiny_checkpoint

    build_tiny_checkpoint(tmp_path / "w" / "lfm2.5-audio" / "1.5b")
    monkeypatch.setenv("LAB_WEIGHTS_DIR", str(tmp_path / "w"))
    reload_settings()
    ui_state.availability.clear()
    ui_state.model_cache().evict(LFM)
    try:
        at = app("chat")
        clean(at)
        assert at.button(key="c_save").disabled
        at.number_input(key="c_max_tokens").set_value(24).run()
        at.chat_input[0].set_value("Hello there").run(timeout=120)
        clean(at)
        conv = at.session_state["c_conv"]
        (ex,) = conv.exchanges
        assert ex.error is None and ex.reply is not None and isinstance(ex.reply.text, str)
        assert [c.name for c in at.get("chat_message")][:2] == ["user", "assistant"]
        assert at.get("audio"), "the spoken reply has a player"
        tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
        at.audio_input[0].set_value(("turn.wav", to_wav_bytes(tone), "audio/wav")).run(timeout=120)
        clean(at)
        at.run()  # the recording is sent once, not on every rerun
        assert len(conv.exchanges) == 2 and conv.exchanges[1].user.audio is not None

        at.button(key="c_save").click().run()
        clean(at)
        run_id = conv.run_id
        run = store.get_run(run_id)
        assert run.kind == "chat" and len(run.results) == 2 and run.results[0].extra["user_text"]
        assert f"Saved as run #{run_id}" in at.success[0].value
        at.button(key="c_new").click().run()
        assert not at.session_state["c_conv"].exchanges
    finally:
        ui_state.model_cache().evict(LFM)
        ui_state.availability.clear()


# --- dashboard.views, directly ---------------------------------------------------------------------------------


SUMMARY = {"models": [
    {"model": TINY, "wer": 0.1, "wer_ci": [0.05, 0.2], "cer": 0.05, "rtfx": 20.0, "flags": {"truncated": 2}},
    {"model": "pocketsphinx:en-us", "wer": 0.3, "wer_ci": [0.2, 0.4], "cer": 0.2, "rtfx": 8.0, "flags": {}},
    {"model": "faster-whisper:base", "wer": None, "wer_ci": None, "rtfx": None, "errors": 3},
]}


def test_benchmark_shaping() -> None:
    corpus, _ = history_view.eval_summary(SUMMARY)
    assert list(corpus["Flags"]) == ["truncated ×2", "", ""]
    fig = accuracy_speed_figure(SUMMARY)
    assert [t.name for t in fig.data] == [TINY, "pocketsphinx:en-us"]  # no point without WER and speed
    assert fig.data[0].x == (20.0,) and fig.data[0].y == (pytest.approx(10.0),)
    assert fig.data[0].error_y.array == (pytest.approx(10.0),) and fig.data[0].error_y.arrayminus == (
        pytest.approx(5.0),)
    assert accuracy_speed_figure({"models": SUMMARY["models"][2:]}) is None

    curves = {TINY: {"telephone_8k": 0.2, "clean": 0.0, "white_snr10": None, "custom": 0.5}}
    frame = benchmarks_view.robustness_frame(curves)
    assert list(frame["Perturbation"]) == ["clean", "white_snr10", "telephone_8k", "custom"]
    assert list(frame[TINY].fillna(-1)) == [0.0, -1, pytest.approx(20.0), 50.0]
    assert list(benchmarks_view.robustness_figure(curves).data[0].x) == list(frame["Perturbation"])

    (v,) = benchmarks_view.regression_views([store.RegressionReport(
        report_id=3, created_at=datetime(2026, 1, 2, 3, 4, 5), passed=False, models=[TINY], runs=[7], datasets=[],
        thresholds={}, checks=[
            store.RegressionCheck(model=TINY, dataset="m.csv", check="max_wer", value=0.05, limit=0.01, passed=False),
            store.RegressionCheck(model=TINY, dataset="m.csv", check="max_p95_latency_ratio", value=None, limit=1.5,
                            passed=False, detail="no baseline")])])
    assert v.title.startswith("#3 · 2026-01-02 03:04:05 UTC · FAILED (2 of 2 checks)") and v.runs == (7,)
    assert list(v.checks["Value"]) == ["5.0%", "n/a"] and list(v.checks["Limit"]) == ["1.0%", "1.50×"]
    assert "\\_" in registry_view.alerts_markdown(["a_b on m.csv: max_wer = 0.050 exceeds 0.01"])

    stab = {"model": TINY, "p50_s": 0.5, "p95_s": 0.7, "p99_s": 0.8, "std_s": 0.1, "first_run_s": 1.2,
            "warm_mean_s": 0.55, "rss_start_mb": 100.0, "rss_end_mb": 125.0, "memory_growth": True,
            "identical": False, "errors": 1, "latencies_s": [0.4, 0.5, 0.7], "rss_mb": [100.0, 110.0, 120.0, 125.0]}
    shown = {m.label: m.value for m in benchmarks_view.stability_metrics(stab)}
    assert shown["Memory growth"] == "+25.0 MiB ⚠" and shown["Transcripts"] == "differ"
    hist, mem = benchmarks_view.stability_figures(stab)
    assert list(hist.data[0].x) == stab["latencies_s"] and list(mem.data[0].y) == stab["rss_mb"]
    assert len(hist.layout.shapes) == 3  # p50, p95 and the first run


def test_dataset_choices(tmp_path: Path) -> None:
    shared, data = tmp_path / "shared", tmp_path / "data"
    (data / "set").mkdir(parents=True)
    shared.mkdir()
    (shared / "manifest.csv").write_text("file,reference\n")
    (data / "a.csv").write_text("file,reference\n")
    (data / "set" / "manifest.csv").write_text("file,reference\n")
    choices = benchmarks_view.dataset_choices(shared, data)
    assert [c.path for c in choices] == [shared / "manifest.csv", data / "a.csv", data / "set" / "manifest.csv"]
    assert benchmarks_view.dataset_choices(tmp_path / "none", tmp_path / "none") == []


def test_listening_and_chat_shaping() -> None:
    ratings = [arena.Rating("x", 1100.0, (1050.0, 1150.0), 6, 4.0, True, 1),
               arena.Rating("y", 900.0, (850.0, 950.0), 2, 0.5, False)]
    ranked, unranked = listen_view.leaderboard_frames(ratings)
    assert list(ranked.iloc[0]) == [1, "x", 1100, "1050 – 1150", 6, 4.0]
    assert list(unranked["Model"]) == ["y"] and unranked.iloc[0]["Provisional rating"] == 900
    assert listen_view.leaderboard_frames([])[0].empty
    steps = "\n".join(chat_view.setup_steps(LFM))
    assert "$LAB_WEIGHTS_DIR/lfm2.5-audio/1.5b" in steps and "LiquidAI/LFM2.5-Audio-1.5B" in steps
    assert "pip install hibari-tts" in "\n".join(chat_view.setup_steps("hibari:en"))
    assert chat_view.reply_wav(None) is None


@pytest.mark.slow
def test_history_replays_a_stored_stream_run(lab_db: Path) -> None:
    from lab.audio import load_audio
    from lab.live import StreamComparison, display_at
    from tests.conftest import JFK_REF, shared

    comp = StreamComparison(load_audio(shared("jfk.flac")), [TINY], JFK_REF)
    (streamed,) = list(comp)
    line = streamed.timeline
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("screens/history.py")
    at.query_params["run"] = str(comp.run_id)
    at.run()
    clean(at)
    slider = at.slider(key="replay_t")
    html = lambda: " ".join(h.proto.body for h in at.get("html"))  # noqa: E731
    assert "ask not what your country" in html()  # the slider starts at the end: the whole committed text
    early = line.ticks[len(line.ticks) // 3]
    slider.set_value(round(early.at_s + 0.05, 1)).run()
    clean(at)
    shown = display_at(line, round(early.at_s + 0.05, 1))
    assert shown.committed in html() and "can do for your country" not in html().split("live-card")[-1]
    metrics = table(at, "first_word_s")
    assert metrics["first_word_s"][0] == pytest.approx(streamed.metrics.first_word_s)
    assert metrics["wer"][0] == pytest.approx(streamed.result.wer)


def test_every_catalog_model_has_a_colour_of_its_own() -> None:
    # cards, waveform lanes and charts tell models apart by colour (tiny.en and pocketsphinx used to share one)
    colours = [model_color(m) for m in catalog()]
    assert len(set(colours)) == len(colours)
