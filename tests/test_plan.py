"""Like-for-like comparisons: one precision and one beam for every runtime, variants of one model as their
own results, and every result carrying the settings it ran with (JSON, stored row, export, card)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard import cards as ui_cards
from lab import store
from lab.errors import LabError, UnknownModelError
from lab.flags import FLAG_EXPLANATIONS, explain_flag, explain_flags
from lab.plan import parse_variant, plan_comparison
from lab.store import ResultRecord
from tests.conftest import JFK_REF, run_lab

FW, OW = "faster-whisper:tiny.en", "openai-whisper:tiny.en"
SETTINGS = ("compute_type", "beam_size", "device", "threads")


def test_plan_gives_every_runtime_one_precision_and_beam() -> None:
    plan = plan_comparison([FW, OW, "transformers:whisper-tiny.en"], device="cpu")
    assert {(p.device, p.compute_type, p.beam_size) for p in plan} == {("cpu", "float32", 5)}
    assert [p.label for p in plan] == [FW, OW, "transformers:whisper-tiny.en"]
    picked = plan_comparison([FW, f"{FW}@beam=3"], compute_type="int8", beam_size=1, device="cpu")
    assert [(p.compute_type, p.beam_size) for p in picked] == [("int8", 1), ("int8", 3)]
    with pytest.raises(LabError, match="runs in float32 on cpu, not int8"):  # no int8 path: refused, not relabelled
        plan_comparison([FW, OW], compute_type="int8", device="cpu")
    # CUDA asked for, but pocketsphinx runs on the CPU only: its precision is the CPU's
    mixed = {p.model: p for p in plan_comparison([FW, "pocketsphinx:en-us"], device="cuda")}
    assert (mixed[FW].device, mixed[FW].compute_type) == ("cuda", "float16")
    assert (mixed["pocketsphinx:en-us"].device, mixed["pocketsphinx:en-us"].compute_type) == ("cpu", "float32")


def test_variants_pin_their_own_settings() -> None:
    plan = plan_comparison([FW, f"{FW}@int8", f"{FW}@float32,beam=1", f"{FW}@beam=1,float32", FW], device="cpu")
    assert [(p.label, p.compute_type, p.beam_size) for p in plan] == [
        (FW, "float32", 5), (f"{FW}@int8", "int8", 5), (f"{FW}@float32,beam=1", "float32", 1)]
    assert parse_variant(f"{OW}@compute=int8_float32 , beam = 3").label == f"{OW}@int8_float32,beam=3"


@pytest.mark.parametrize(("text", "message"), [
    (f"{FW}@beam=zero", "beam must be a whole number"),
    (f"{FW}@temperature=1", "unknown setting 'temperature=1'"),
    ("nope:model@int8", "unknown model id 'nope:model'"),
    # openai-whisper has no int8 path on CPU: refused, never labelled int8 while running float32
    (f"{OW}@int8", "runs in float32 on cpu, not int8"),
    ("transformers:whisper-tiny.en@int8", "runs in float32 or bfloat16 on cpu, not int8"),
])
def test_bad_variants_say_what_is_wrong_in_one_line(text: str, message: str) -> None:
    with pytest.raises(LabError) as e:
        plan_comparison([text], device="cpu")
    assert message in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, UnknownModelError) == text.startswith("nope")


def test_every_flag_has_a_one_line_explanation() -> None:
    for flag in ("repetition_loop", "text_on_silence", "truncated"):
        assert flag in FLAG_EXPLANATIONS and "\n" not in explain_flag(flag)
    assert "loop" in explain_flag("repetition_loop")
    assert explain_flags(["repetition_loop", "odd"])[1] == "odd: The engine flagged this result as 'odd'."
    card = ui_cards.card_view(ResultRecord(model_id=FW, text="la la la la", flags=["repetition_loop"]), None)
    assert card.flag_notes == (explain_flag("repetition_loop"),)


def test_card_shows_settings_heard_language_and_warns_on_another_language() -> None:
    row = ResultRecord(model_id="faster-whisper:base", text="你好世界", language="zh", language_probability=0.93,
                       compute_type="float32", beam_size=1, device="cpu", threads=2, wer=1.0, cer=0.25,
                       score_language="zh", headline_metric="cer", label="faster-whisper:base@beam=1")
    card = ui_cards.card_view(row, "你好世界", reference_language="en")
    assert card.settings == "float32 · beam 1 (greedy) · cpu · 2 threads"
    assert card.heard == "Heard: zh (93%)"
    assert card.language_warning and "'zh'" in card.language_warning and "'en'" in card.language_warning
    assert [m.label for m in card.metrics[:2]] == ["CER (headline)", "WER"]  # scored in zh: CER leads
    assert card.label == "faster-whisper:base@beam=1" and card.title.endswith("@ beam=1")
    assert ui_cards.card_view(row, None, reference_language="zh").language_warning is None


@pytest.mark.slow
def test_transcribe_runs_runtimes_like_for_like_and_variants_as_their_own_results(jfk: Path) -> None:
    out = run_lab("transcribe", str(jfk), "-m", FW, "-m", OW, "-m", f"{FW}@int8,beam=1", "--ref", JFK_REF, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by_label = {r["label"]: r for r in doc["results"]}
    assert list(by_label) == [FW, OW, f"{FW}@int8,beam=1"]
    for r in doc["results"]:
        assert r["error"] is None and all(r[k] is not None for k in SETTINGS), r
        assert r["device"] == "cpu" and r["threads"] >= 1
        assert r["score_language"] == "en" and r["headline_metric"] == "wer" and r["wer"] < 0.1
    assert (by_label[FW]["compute_type"], by_label[FW]["beam_size"]) == ("float32", 5)
    assert (by_label[OW]["compute_type"], by_label[OW]["beam_size"]) == ("float32", 5)
    variant = by_label[f"{FW}@int8,beam=1"]
    assert (variant["model"], variant["compute_type"], variant["beam_size"]) == (FW, "int8", 1)
    assert by_label[FW]["language"] == "en" and 0 < by_label[FW]["language_probability"] <= 1

    run = store.get_run(doc["run_id"])  # the stored run records the plan and each result its settings
    assert [p["label"] for p in run.settings["plan"]] == list(by_label)
    assert [(r.compute_type, r.beam_size) for r in run.results] == [("float32", 5), ("float32", 5), ("int8", 1)]
    exported = [e for e in store.export_rows(store.RunFilter()) if e["run_id"] == doc["run_id"]]
    assert all(e[k] is not None for e in exported for k in (*SETTINGS, "language", "language_probability")
               if not (k == "language_probability" and e["model_id"] == OW))

    text = run_lab("transcribe", str(jfk), "-m", f"{FW}@float32,beam=1", "--ref", JFK_REF)
    assert text.returncode == 0 and "[float32 beam=1 cpu threads=" in text.stdout and "lang=en (" in text.stdout


@pytest.mark.slow
def test_compare_page_runs_a_second_variant_and_its_cards_show_their_settings(fresh_db: str, jfk: Path) -> None:
    from tests.test_app import app, clean, html_text

    at = app()
    at.file_uploader(key="upload").set_value(("jfk.flac", jfk.read_bytes(), "audio/flac")).run()
    at.checkbox(key=f"pick:{FW}").check().run()
    assert at.selectbox(key="ref_language").value == ""  # auto until the user (or a sample's manifest) says
    at.selectbox(key="ref_language").set_value("en").run()
    at.selectbox(key="variant_model").set_value(FW)
    at.selectbox(key="variant_precision").set_value("int8")
    at.number_input(key="variant_beam").set_value(1).run()
    at.button(key="add_variant").click().run()
    clean(at)
    assert any(b.label == f"✕ {FW}@int8,beam=1" for b in at.button)
    at.button(key="run").click().run(timeout=300)
    clean(at)
    assert not at.error, [e.value for e in at.error]

    captions = [c.value.replace("\\", "") for c in at.caption]  # markdown escapes dropped
    assert "Ran with: float32 · beam 5 · cpu · " in "\n".join(captions)
    assert "Ran with: int8 · beam 1 (greedy) · cpu · " in "\n".join(captions)
    assert sum(c.startswith("Heard: en (") for c in captions) == 2  # faster-whisper gives its probability
    assert not at.warning  # heard English, the reference is English
    assert html_text(at).count("ask not what your country") >= 2
    stored = store.get_run(at.session_state["last"].run_id)
    assert [(r.compute_type, r.beam_size) for r in stored.results] == [("float32", 5), ("int8", 1)]
    assert stored.settings["reference_language"] == "en"
    assert [ui_cards.result_label(r) for r in stored.results] == [FW, f"{FW}@int8,beam=1"]


@pytest.mark.slow
def test_api_transcribe_takes_a_compute_type_and_variants(jfk: Path) -> None:
    from fastapi.testclient import TestClient

    from lab.serve.api import app
    from lab.store import create_key

    # faster-whisper:tiny.en starts experimental: a key that may use experimental models
    client = TestClient(app, headers={"X-API-Key": create_key("plan-test", experimental=True)[0]})
    audio = {"file": ("jfk.flac", jfk.read_bytes(), "audio/flac")}
    r = client.post("/transcribe", files=audio, data={"models": [FW, f"{FW}@float32,beam=1"], "compute_type": "int8",
                                                      "reference": JFK_REF, "reference_language": "en"})
    assert r.status_code == 200, r.text
    got = [(x["label"], x["model"], x["compute_type"], x["beam_size"], x["score_language"])
           for x in r.json()["results"]]
    assert got == [(FW, FW, "int8", 5, "en"), (f"{FW}@float32,beam=1", FW, "float32", 1, "en")]
    bad = client.post("/transcribe", files=audio, data={"models": [f"{FW}@beam=x"]})
    assert bad.status_code == 400 and "beam must be a whole number" in bad.json()["detail"]
