"""Real models on real recordings: WER bounds these models meet, and the stored run read back."""

from __future__ import annotations

import pytest
from sqlmodel import select

from db.models import Clip, Result, Run
from lab.audio import load_audio
from lab.catalog import ModelSpec, WeightsSource
from lab.engines import availability
from lab.errors import ModelUnavailableError
from lab.runner import compare
from lab.settings import override
from lab.store import clip_audio_path, get_run, session
from lab.weights import HubProbe, resolve
from tests.conftest import manifest, shared

# (file, model) → WER bound; measured: tiny.en 0/0/0.11, base 0/0/0.02, pocketsphinx 0.23/1.0/0.35
BOUNDS = {
    ("jfk.flac", "faster-whisper:tiny.en"): 0.05,
    ("beckett.wav", "faster-whisper:tiny.en"): 0.10,
    ("two_cities.wav", "faster-whisper:tiny.en"): 0.20,
    ("jfk.flac", "faster-whisper:base"): 0.05,
    ("beckett.wav", "faster-whisper:base"): 0.10,
    ("two_cities.wav", "faster-whisper:base"): 0.08,
    ("jfk.flac", "pocketsphinx:en-us"): 0.40,
    ("two_cities.wav", "pocketsphinx:en-us"): 0.50,
}
MODELS = ["faster-whisper:tiny.en", "faster-whisper:base", "pocketsphinx:en-us"]


@pytest.mark.parametrize("model", MODELS)
def test_offline_models_are_available(model: str) -> None:
    a = availability(model)
    assert a.available and a.source == "pack", a.hint


@pytest.mark.slow
@pytest.mark.parametrize("name", ["jfk.flac", "beckett.wav", "two_cities.wav"])
def test_real_models_transcribe_shared_recordings_and_the_run_is_stored(name: str) -> None:
    row = next(r for r in manifest() if r["file"] == name)
    clip = load_audio(shared(name))
    comp = compare(clip, MODELS, row["reference"])
    by_model = {r.model: r for r in comp.results}
    for model in MODELS:
        r = by_model[model]
        assert r.error is None, r.error
        bound = BOUNDS.get((name, model))
        if bound is not None:
            assert r.wer <= bound, f"{model} on {name}: WER {r.wer:.3f} > {bound}\n{r.text}"
        assert r.latency_s > 0 and r.rtfx == pytest.approx(clip.duration_s / r.latency_s)
        assert r.load_s is not None and r.segments and r.words
        assert r.segments[-1].end <= clip.duration_s + 1.0
    # read the run back from the database
    stored = get_run(comp.run_id)
    assert stored.status == "done" and stored.reference == row["reference"]
    assert stored.machine["libraries"]["faster-whisper"] and stored.machine["threads"] == 2
    rows = {r.model_id: r for r in stored.results}
    assert set(rows) == set(MODELS)
    for model in MODELS:
        assert rows[model].text == by_model[model].text
        assert rows[model].wer == pytest.approx(by_model[model].wer)
        assert rows[model].segments and rows[model].extra["ref_words"] > 0
    audio = clip_audio_path(stored.clip_id)
    assert audio is not None and audio.read_bytes() == shared(name).read_bytes()


def test_whisper_word_timestamps_are_ordered_and_inside_the_clip(jfk) -> None:  # noqa: ANN001
    clip = load_audio(jfk)
    r = compare(clip, ["faster-whisper:tiny.en"], store_run=False).results[0]
    starts = [w.start for w in r.words]
    assert starts == sorted(starts) and r.words[-1].end <= clip.duration_s + 0.5
    assert [w.word.strip(" ,.").lower() for w in r.words][:4] == ["and", "so", "my", "fellow"]


@pytest.mark.slow
def test_base_detects_language_and_a_second_run_reuses_the_loaded_model(jfk) -> None:  # noqa: ANN001
    clip = load_audio(jfk)
    first = compare(clip, ["faster-whisper:base"], store_run=False).results[0]
    again = compare(clip, ["faster-whisper:base"], store_run=False).results[0]
    assert first.language == "en"
    assert again.cached and again.warmup_s is None and again.text == first.text


@pytest.mark.slow
def test_same_clip_is_stored_once(jfk) -> None:  # noqa: ANN001
    clip = load_audio(jfk)
    a = compare(clip, ["pocketsphinx:en-us"]).run_id
    b = compare(clip, ["pocketsphinx:en-us"]).run_id
    with session() as s:
        runs = s.exec(select(Run).where(Run.id.in_([a, b]))).all()
        assert runs[0].clip_id == runs[1].clip_id
        assert len(s.exec(select(Clip).where(Clip.sha256 == clip.sha256)).all()) == 1
        assert len(s.exec(select(Result).where(Result.run_id.in_([a, b]))).all()) == 2


class _Probe(HubProbe):
    """A hub that answers (or not) without touching the network."""

    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up, self.asked = up, []

    def reachable(self, host: str) -> bool:
        self.asked.append(host)
        return self.up


def test_hub_download_needs_online_and_a_reachable_host() -> None:
    weights = WeightsSource(hub="lab-test/nowhere")
    spec = ModelSpec("transformers:nowhere", "Nowhere", ("asr",), ("en",), None, "MIT", weights)
    with override(hf_hub_offline=False):
        assert resolve(spec, hub_probe=_Probe(True)).source == "hub"
        with pytest.raises(ModelUnavailableError, match="go online"):
            resolve(spec, hub_probe=_Probe(False))
    offline = _Probe(True)
    with override(hf_hub_offline=True), pytest.raises(ModelUnavailableError):
        resolve(spec, hub_probe=offline)
    assert offline.asked == []  # HF_HUB_OFFLINE: not even asked
