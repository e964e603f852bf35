"""The dashboard through Streamlit's AppTest (every page), plus the pure shaping functions in dashboard.views."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lab.audio
from dashboard import cards as ui_cards
from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import compare as compare_view
from dashboard.views import history as history_view
from lab import store
from lab.audio import SAMPLE_RATE, load_audio, to_wav_bytes
from lab.errors import LabError
from lab.store import ResultRecord, RunDetail
from tests import fake_engine
from tests.conftest import JFK_REF

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
TINY = "faster-whisper:tiny.en"


@pytest.fixture()
def lab_db(fresh_db: str) -> Path:
    """A fresh database per test (AppTest runs the pages in this process, so they use it too)."""
    return Path(fresh_db.removeprefix("sqlite:///"))


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(f"screens/{page}.py")
    return at.run()


def clean(at: AppTest) -> None:
    """No traceback ever reaches the page."""
    assert not at.exception, [e.value for e in at.exception]


def html_text(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.html)


def metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The first dataframe on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


# --- Compare ---------------------------------------------------------------------------------------


def test_compare_uploads_jfk_runs_tiny_en_and_stores_the_run(lab_db: Path, jfk: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = []
    real = lab.audio.load_audio
    monkeypatch.setattr(lab.audio, "load_audio", lambda *a, **k: decodes.append(a[1:]) or real(*a, **k))

    at = app()
    clean(at)
    assert at.radio(key="source").value == "Upload a file"
    assert "Choose a recording" in at.info[0].value  # the empty state says what to do
    at.file_uploader(key="upload").set_value(("jfk.flac", jfk.read_bytes(), "audio/flac")).run()
    clean(at)
    assert not at.error
    assert at.text_area(key="reference").value == JFK_REF  # a copy of a sample: its reference fills in
    at.checkbox(key=f"pick:{TINY}").check().run()
    at.button(key="run").click().run(timeout=300)
    clean(at)
    assert not at.error, [e.value for e in at.error]

    assert "ask not what your country can do for you" in html_text(at)
    last: compare_view.CompareOutcome = at.session_state["last"]
    stored = store.get_run(last.run_id)
    assert stored.status == "done" and stored.clip == "jfk.flac" and stored.reference == JFK_REF
    (result,) = stored.results
    assert result.model_id == TINY and "ask not what your country" in result.text
    assert result.wer is not None and result.wer < 0.1
    shown = dict(metrics(at))
    assert shown["WER"] == fmt.fmt_pct(result.wer) and shown["CER"] == fmt.fmt_pct(result.cer)
    assert shown["Latency"] == fmt.fmt_seconds(result.latency_s)
    assert store.list_runs(limit=1)[0].run_id == last.run_id
    assert any(f"Open run #{last.run_id} in History" in p.proto.label for p in at.get("page_link"))

    # a rerun redraws from session state: no model reload, no re-decode
    loads, n_decodes = ui_state.model_cache().loads, len(decodes)
    at.run()
    clean(at)
    assert ui_state.model_cache().loads == loads and len(decodes) == n_decodes == 1
    assert dict(metrics(at))["WER"] == shown["WER"]


def test_bad_upload_shows_the_audio_error_and_cannot_run(lab_db: Path) -> None:
    at = app()
    at.file_uploader(key="upload").set_value(("broken.wav", b"this is not audio at all", "audio/wav")).run()
    clean(at)
    assert len(at.error) == 1 and "broken.wav: not a recognised audio file" in at.error[0].value
    at.checkbox(key=f"pick:{TINY}").check().run()
    assert at.button(key="run").disabled


def test_recording_decodes_at_16k_and_unavailable_models_cannot_be_picked(lab_db: Path) -> None:
    at = app()
    at.radio(key="source").set_value("Record").run()
    assert at.audio_input[0].sample_rate == 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    at.audio_input[0].set_value(("rec.wav", to_wav_bytes(tone), "audio/wav")).run()
    clean(at)
    assert not at.error and any("recording.wav · 1.0 s" in c.value for c in at.caption)
    missing = [a for a in ui_state.availability() if not a.available]
    for a in missing:
        box = at.checkbox(key=f"pick:{a.model}")
        assert box.disabled and a.hint in box.help


def test_a_crashing_engine_errors_in_its_card_and_the_others_carry_on(lab_db: Path, tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    ui_state.availability.clear()
    with fake_engine.installed(tmp_path / "weights") as ids:
        try:
            at = app()
            at.radio(key="source").set_value("Sample clip").run()
            at.selectbox(key="sample").set_value("shared/jfk.flac").run()
            assert at.text_area(key="reference").value == JFK_REF  # picking a sample fills its reference
            at.checkbox(key="pick:fake:crash").check()
            at.checkbox(key="pick:fake:ok").check().run()
            at.button(key="run").click().run(timeout=120)
            clean(at)
            assert len(at.error) == 1 and "RuntimeError" in at.error[0].value
            assert fake_engine.TEXT in html_text(at)
            stored = store.get_run(at.session_state["last"].run_id)
            ok = next(r for r in stored.results if r.model_id == "fake:ok")
            assert ("WER", fmt.fmt_pct(ok.wer)) in metrics(at) and stored.status == "partial"
        finally:
            ui_state.availability.clear()
            for model in ids:  # the process cache must not keep models the catalog no longer has
                ui_state.model_cache().evict(model)


# --- Registry --------------------------------------------------------------------------------------


def _apply(at: AppTest, model: str, target: str, reason: str) -> AppTest:
    at.selectbox(key="t_model").set_value(model)
    at.selectbox(key="t_target").set_value(target)
    at.text_input(key="t_reason").input(reason)
    return at.button(key="t_apply").click().run()


def test_registry_refuses_illegal_moves_with_the_rule_and_records_a_legal_one(lab_db: Path) -> None:
    at = app("registry")
    clean(at)
    assert "No transitions yet" in at.info[0].value
    assert set(table(at, "Model")["Model"]) >= {TINY}
    _apply(at, TINY, "production", "fastest on the demo clip")
    clean(at)
    assert "[one-step-at-a-time] experimental → production is not allowed" in at.error[0].value
    _apply(at, TINY, "candidate", "")
    assert "[reason-required]" in at.error[0].value
    _apply(at, TINY, "candidate", "WER 0% on jfk")
    assert "[needs-evaluation]" in at.error[0].value  # the rule's own message, whatever the core's rules are
    (link,) = at.get("page_link")  # and the page action that satisfies it
    assert link.proto.page == "benchmarks" and link.proto.query_string == "model=faster-whisper%3Atiny.en"
    assert store.model_states()[TINY] == "experimental"

    run_id = store.start_run("eval", {}, {})
    store.add_result(run_id, {"model_id": TINY, "text": JFK_REF, "wer": 0.0, "latency_s": 0.4})
    _apply(at, TINY, "candidate", "WER 0% on jfk")
    clean(at)
    assert not at.error and "experimental → candidate" in at.success[0].value
    assert store.model_states()[TINY] == "candidate"
    assert at.text_input(key="t_reason").value == ""
    trail = table(at, "Reason")
    assert list(trail[["Model", "From", "To", "Reason"]].iloc[0]) == [TINY, "experimental", "candidate",
                                                                      "WER 0% on jfk"]
    assert list(trail.columns[-2:]) == ["Evaluation", "Regression report"]  # the evidence the move was decided on
    candidates = next(d.value for d in at.dataframe if "Model" in d.value.columns and TINY in set(d.value["Model"]))
    assert list(candidates["Model"]) == [TINY]


# --- History ---------------------------------------------------------------------------------------


def _seed(jfk: Path, n: int) -> list[int]:
    clip_id = store.save_clip(load_audio(jfk))
    ids = []
    for i in range(n):
        run_id = store.start_run("eval" if i % 3 == 0 else "compare", {}, {}, clip_id, JFK_REF)
        store.add_result(run_id, {"model_id": TINY, "text": JFK_REF, "wer": 0.01 * i, "cer": 0.0,
                                  "latency_s": 0.5 + i / 100, "segments": [{"start": 0.0, "end": 11.0,
                                                                            "text": JFK_REF}]})
        store.finish_run(run_id, "done")
        ids.append(run_id)
    return ids


def test_history_empty_state_says_what_to_do(lab_db: Path) -> None:
    at = app("history")
    clean(at)
    assert "No runs yet" in at.info[0].value
    assert any(m.startswith("**Model Lab**") for m in (c.value for c in at.sidebar.caption))  # app.py's navigation


def test_history_paginates_filters_opens_and_deletes(lab_db: Path, jfk: Path) -> None:
    ids = _seed(jfk, 23)
    at = app("history")
    clean(at)
    at.selectbox(key="page_size").set_value(10).run()
    assert list(table(at, "WER is")["Run"]) == ids[::-1][:10]  # newest first
    assert any("Runs 1–10 of 23 · page 1 of 3" in c.value for c in at.caption)
    at.number_input(key="page").set_value(3).run()
    assert list(table(at, "WER is")["Run"]) == ids[2::-1]
    at.selectbox(key="f_kind").set_value("eval").run()  # a filter change goes back to page 1
    assert at.number_input(key="page").value == 1
    assert set(table(at, "WER is")["Run"]) == set(ids[::3])
    at.selectbox(key="f_kind").set_value(None)
    at.text_input(key="f_clip").input("nothing-like-this").run()
    assert "No runs match these filters" in at.info[0].value
    at.text_input(key="f_clip").input("jfk").run()

    victim = ids[5]
    at.query_params["run"] = str(victim)  # what Compare's "Open run #N in History" link carries
    at.run()
    clean(at)
    assert f"Run #{victim}" in [s.value for s in at.subheader]
    assert at.get("audio"), "the stored clip replays"
    assert JFK_REF in html_text(at) and ("WER", fmt.fmt_pct(0.05)) in metrics(at)
    at.button(key="delete").click().run()
    assert "cannot be undone" in at.warning[0].value
    assert store.count_runs() == 23  # nothing deleted before confirming
    at.button(key="delete_yes").click().run()
    clean(at)
    assert f"Run #{victim} deleted." in at.success[0].value
    assert store.count_runs() == 22 and "run" not in at.query_params
    with pytest.raises(LabError):
        store.get_run(victim)


def test_history_charts_and_export_cover_the_filtered_runs(lab_db: Path, jfk: Path) -> None:
    ids = _seed(jfk, 9)
    f = history_view.run_filter(kind="eval")
    stats = history_view.latency_stats(f)
    assert list(stats["model"]) == [TINY] and stats["n"].iloc[0] == 3
    wer = history_view.wer_over_time(history_view.run_filter())
    assert list(wer["model"]) == [TINY] and wer["n"].sum() == 9
    assert abs(wer["wer"].iloc[0] - np.mean([0.01 * i for i in range(9)])) < 1e-9
    assert history_view.wer_figure(wer).layout.xaxis.type == "date"  # the time axis reads as dates
    csv_text = history_view.export_csv(f).decode()
    assert csv_text.splitlines()[0].startswith("run_id,created_at,kind") and len(csv_text.splitlines()) == 4
    runs = json.loads(history_view.export_json(f))
    assert [r["run_id"] for r in runs] == [ids[6], ids[3], ids[0]]
    assert runs[0]["results"][0]["model_id"] == TINY and runs[0]["clip"] == "jfk.flac"
    assert history_view.export_rows(history_view.run_filter(model="pocketsphinx:en-us")) == []


# --- System ----------------------------------------------------------------------------------------


def test_system_page_shows_machine_engines_cache_and_database(lab_db: Path) -> None:
    at = app("system")
    clean(at)
    shown = dict(metrics(at))
    assert shown["Device"] in {"CPU", "CUDA", "MPS"} and shown["Runs"] == "0"
    engines = table(at, "Runtime")
    assert TINY in list(engines["Model"]) and bool(engines.set_index("Model").loc[TINY, "Available"])
    assert "streamlit" in list(table(at, "Library")["Library"])
    assert any(str(lab_db) in m.value for m in at.markdown)


# --- dashboard.views, directly ------------------------------------------------------------------------------


def test_text_from_transcripts_is_escaped() -> None:
    assert "<b>" not in ui_cards.transcript_html("<b>bold</b> & co") and "&lt;b&gt;" in ui_cards.transcript_html("<b>")
    out = ui_cards.diff_html("hello world", 'hello <img src=x onerror="alert(1)"> world')
    assert "<img" not in out and "hello" in out
    ops = ui_cards.diff_html("ask not what your country", "ask what your county can do")
    assert 'title="missed">not<' in ops and 'title="reference: country"' in ops and 'title="inserted">' in ops
    assert fmt.md_escape("$LAB_X *y* [z](u)") == r"\$LAB\_X \*y\* \[z\]\(u\)"


def test_envelope_and_waveform_figure() -> None:
    x = np.sin(np.linspace(0, 100, SAMPLE_RATE * 3)).astype(np.float32)
    env = ui_cards.envelope(x, SAMPLE_RATE, points=300)
    assert len(env.t) == 300 and env.duration_s == 3.0 and np.all(env.lo <= env.hi) and env.hi.max() <= 1
    rows = [ResultRecord(model_id=TINY, segments=[{"start": 0.0, "end": 1.5, "text": "a"},
                                                  {"start": 1.5, "end": 3.0, "text": "b"}])]
    fig = ui_cards.waveform_figure(env, rows)
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 4
    assert ui_cards.envelope(np.zeros(0, np.float32), SAMPLE_RATE).duration_s == 0


def test_filters_cards_and_samples() -> None:
    f = history_view.run_filter(model="", kind=None, dates=(date(2025, 1, 2),), clip="  ")
    assert f.model is None and f.clip is None
    assert f.since == datetime(2025, 1, 2, tzinfo=UTC) and f.until.date() == date(2025, 1, 2)
    assert history_view.page_count(0, 25) == 1 and history_view.page_count(10_000, 25) == 400
    card = ui_cards.card_view(ResultRecord(model_id=TINY, text="x", latency_s=0.5, cached=True, load_s=0.2,
                                        wer=None, flags=["truncated"]), None)
    assert card.diff_html is None and card.flags == ("truncated",)
    assert {m.label: m.value for m in card.metrics} | {} == {
        "Latency": "0.50 s", "RTFx": "—", "WER": "—", "CER": "—", "Load": "cached", "Warm-up": "—"}
    failed = ui_cards.card_view(ResultRecord(model_id=TINY, error="boom"), "ref")
    assert failed.error == "boom" and failed.diff_html is None
    samples = ui_state.samples()
    if samples:
        s = samples[0]
        assert ui_state.match_sample(s.name, s.size_bytes, samples) == s
        assert ui_state.match_sample(s.name, s.size_bytes + 1, samples) is None


def test_summary_and_evaluation_tables() -> None:
    rows = [ResultRecord(model_id=TINY, latency_s=0.5, rtfx=22.0, wer=0.1, cer=0.05, load_s=0.3),
            ResultRecord(model_id="pocketsphinx:en-us", error="pocketsphinx:en-us: RuntimeError: boom")]
    frame = compare_view.summary_frame(rows)
    assert list(frame["WER (%)"])[0] == pytest.approx(10.0) and list(frame["Error"]) == ["", rows[1].error]
    fig = compare_view.summary_figure(frame)
    assert [list(t.x) for t in fig.data] == [[TINY], [TINY]]  # the failed model is left out of the bars
    summary = {"models": [{"model": TINY, "wer": 0.2, "wer_ci": [0.1, 0.3], "cer": 0.1, "substitutions": 1,
                           "deletions": 2, "insertions": 0, "rtfx": 10.0, "latency_p50_s": 0.5,
                           "latency_p95_s": 0.7, "clips": 3, "errors": 0}],
               "paired": [{"a": TINY, "b": "x", "diff": -0.1, "ci": [-0.2, -0.05], "verdict": "A is better"}]}
    corpus, verdicts = history_view.eval_summary(summary)
    assert corpus.iloc[0]["95% CI"] == "10.0% – 30.0%" and corpus.iloc[0]["S/D/I"] == "1/2/0"
    assert verdicts == [f"{TINY} vs x: -10.0 WER points, 95% CI [-20.0, -5.0] → A is better"]
    assert history_view.eval_summary(None)[0].empty
    run = RunDetail(run_id=1, kind="eval", created_at="2026-01-02T03:04:05", status="done", clip=None,
                    duration_s=None, models=[TINY], best_wer=0.0, errors=0, clip_names={7: "a.wav"},
                    results=[ResultRecord(model_id=TINY, clip_id=7, wer=0.0)])
    assert history_view.results_frame(run).iloc[0]["Clip"] == "a.wav"


@pytest.mark.slow
def test_compare_with_vads_and_vad_first_stores_them_in_the_run(lab_db: Path) -> None:
    at = app()
    at.radio(key="source").set_value("Sample clip").run()
    at.selectbox(key="sample").set_value("shared/jfk.flac").run()
    at.checkbox(key=f"pick:{TINY}").check()
    at.checkbox(key="vad:silero-vad:v5").check()
    at.checkbox(key="vad:webrtc-vad:2").check()
    at.selectbox(key="vad_first").set_value("silero-vad:v5").run()
    at.button(key="run").click().run(timeout=240)
    clean(at)
    assert not at.error, [e.value for e in at.error]
    last = at.session_state["last"]
    labels = [c.label for c in last.cards]
    assert labels == [TINY, f"{TINY}@vad=silero-vad:v5"]  # the same model with and without VAD first, side by side
    plain, first = last.cards
    rows = {ui_cards.result_label(r): r for r in last.rows}
    assert rows[TINY].compute_type == rows[labels[1]].compute_type is not None  # like for like
    assert "ask not what your country" in plain.text and "ask not what your country" in first.text
    run = store.get_run(last.run_id)
    assert sorted(r.model_id for r in run.results) == sorted([TINY, TINY, "silero-vad:v5", "webrtc-vad:2"])
    silero = next(r for r in run.results if r.model_id == "silero-vad:v5")
    assert silero.segments and 0.5 < silero.extra["speech_ratio"] <= 1
    vads = table(at, "Speech (%)")  # the numbers come from lab.vad.summary_rows over the stored rows
    assert list(vads["VAD"]) == ["silero-vad:v5", "webrtc-vad:2"]
    assert vads["Speech (%)"][0] == round(100 * silero.extra["speech_ratio"], 1)
    assert vads[f"{TINY}@vad=silero-vad:v5 words in speech (%)"][0] >= 80  # a column each, plain and VAD first
    assert vads[f"{TINY} words in speech (%)"][0] >= 80
    lanes = {t.name for t in last.waveform.data if t.type == "bar"}
    assert lanes == {TINY, f"{TINY}@vad=silero-vad:v5", "silero-vad:v5", "webrtc-vad:2"}

    hist = AppTest.from_file(APP, default_timeout=60)  # History shows the same VAD table for the stored run
    hist.switch_page("screens/history.py")
    hist.query_params["run"] = str(last.run_id)
    hist.run()
    clean(hist)
    assert table(hist, "Speech (%)").equals(vads)
    cards = [m.value for m in hist.markdown if m.value.startswith("**") and "`" in m.value]
    assert not any("`silero-vad:v5`" in c or "`webrtc-vad:2`" in c for c in cards)  # VADs get no cards
    assert any(f"`{TINY}@vad=silero-vad:v5`" in c for c in cards)  # VAD first is: beside the plain model


def test_live_microphone_source_needs_no_recording(lab_db: Path) -> None:
    """Live → Microphone: no recording to choose and no Run button (the microphone's own Start runs it); under
    the script harness, where WebRTC cannot start, it says so instead of a traceback."""
    at = app()
    assert [b.label for b in at.button if b.label == "Run comparison"]
    at.toggle(key="live_mode").set_value(True).run()
    assert at.radio(key="live_source").value == "The recording"
    at.radio(key="live_source").set_value("Microphone").run()
    clean(at)
    assert not [b for b in at.button if b.label == "Run comparison"]
    assert any("Start microphone" in c.value for c in at.caption)
    assert any("microphone cannot start here" in e.value for e in at.error)
