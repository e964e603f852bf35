"""Listen: one text through several TTS models side by side, intelligibility by ASR round trip, and blind A/B
judgements (voices and transcripts) that add up to leaderboards."""

from __future__ import annotations

import streamlit as st

from dashboard import cards as ui_cards
from dashboard import format as fmt
from dashboard import picker
from dashboard import state as ui_state
from dashboard.views import listen as listen_view
from lab import store
from lab.errors import LabError
from lab.eval import arena
from lab.runner import Comparison
from lab.store import ResultRecord
from lab.tts import MAX_TEXT_CHARS, TtsResult, synthesize_run

PER_ROW = 3
DEFAULT_ASR = "faster-whisper:tiny.en"


def _on_prompt() -> None:
    prompt = st.session_state.get("l_prompt")
    if prompt:
        st.session_state["l_text"] = prompt


def _tts_picker(options: list[picker.ModelOption]) -> tuple[list[str], dict[str, str]]:
    """One column per TTS model: a checkbox and, once ticked, its voice. Unavailable models say how to get them."""
    picked, voices = [], {}
    cols = st.columns(min(len(options), PER_ROW) or 1)
    for i, o in enumerate(options):
        color, _ = picker.STATE_STYLE[o.state]
        with cols[i % PER_ROW]:
            on = st.checkbox(o.id, key=f"l_pick:{o.id}", disabled=not o.available,
                             help=o.where if o.available else o.hint)
            if not o.available:
                st.caption(f":{color}-badge[{o.state}] :red-badge[unavailable] {fmt.md_escape(o.hint or '')}")
                continue
            st.caption(f":{color}-badge[{o.state}] {fmt.md_escape(o.display_name)}")
            if not on:
                continue
            names, error = ui_state.tts_voices(o.id)
            if error:
                st.error(error, icon=":material/record_voice_over:")
                continue
            voice = st.selectbox("Voice", names, key=f"l_voice:{o.id}")
            picked.append(o.id)
            if voice:
                voices[o.id] = voice
    return picked, voices


def _card(card: listen_view.TtsCard) -> None:
    with st.container(border=True, key=f"tts-{fmt.slug(card.model)}"):
        st.html(f'<div style="height:4px;background:{card.color};border-radius:2px"></div>')
        st.markdown(f"**{fmt.md_escape(card.title)}**  \n`{card.model}`"
                    + (f" · voice `{card.voice}`" if card.voice else ""))
        if card.error:
            st.error(card.error, icon=":material/error:")
            return
        st.audio(card.wav, format="audio/wav")
        for start in range(0, len(card.metrics), 3):
            for m, col in zip(card.metrics[start:start + 3], st.columns(3), strict=False):
                col.metric(m.label, m.value, help=m.help)
        if card.flags:
            st.markdown(" ".join(f":orange-badge[{fmt.md_escape(f)}]" for f in card.flags))
        if card.asr_model:
            st.caption(f"Heard by `{card.asr_model}` (round trip) — {card.asr_metric} vs the input text: "
                       f"**{card.asr_wer}**")
            st.html(ui_cards.transcript_html(card.asr_text))


def _cards(cards: tuple[listen_view.TtsCard, ...]) -> None:
    for start in range(0, len(cards), PER_ROW):
        row = cards[start:start + PER_ROW]
        for card, col in zip(row, st.columns(PER_ROW if len(cards) > PER_ROW else len(row)), strict=False):
            with col:
                _card(card)


def _synthesize(text: str, models: list[str], voices: dict[str, str], asr_model: str | None
                ) -> listen_view.ListenOutcome | None:
    bar = st.progress(0.0, text=f"Synthesizing with {models[0]} (1 of {len(models)})…")
    holes = []
    for start in range(0, len(models), PER_ROW):
        row = models[start:start + PER_ROW]
        holes += [c.empty() for c in st.columns(PER_ROW if len(models) > PER_ROW else len(row))]
    for model, hole in zip(models, holes, strict=False):
        hole.caption(f"{model}: queued — models run one after another so timings stay fair.")
    cards: list[listen_view.TtsCard] = []
    run_id = None
    try:
        with ui_state.exclusive():
            for i, (rid, result) in enumerate(synthesize_run(text, models, voices_by_model=voices,
                                                              asr_model=asr_model, cache=ui_state.model_cache())):
                run_id = rid
                cards.append(listen_view.tts_card(result))
                with holes[i].container():
                    _card(cards[-1])
                if i + 1 < len(models):
                    bar.progress((i + 1) / len(models),
                                 text=f"Synthesizing with {models[i + 1]} ({i + 2} of {len(models)})…")
    except LabError as e:
        st.error(str(e), icon=":material/error:")
    finally:
        bar.empty()
        if cards:
            st.session_state["l_last"] = listen_view.ListenOutcome(run_id, text, tuple(cards))
    return st.session_state.get("l_last") if cards else None

# --- blind A/B ------------------------------------------------------------------------------------------------

def _mark_played(key: str, side: str) -> None:
    state: listen_view.TrialState = st.session_state[key]
    state.trial.mark_played(side)
    state.last_played = side


def _vote(key: str, choice: str) -> None:
    state: listen_view.TrialState = st.session_state[key]
    voter = (st.session_state.get("ab_voter") or "").strip() or None
    try:
        state.trial.vote(choice, voter)
        state.choice = choice
    except LabError as e:
        st.session_state[f"{key}_flash"] = str(e)
    except Exception as e:  # e.g. the database refused the write; a callback must not raise
        st.session_state[f"{key}_flash"] = f"The vote could not be stored ({type(e).__name__}: {e})."


def _new_tts_trial(text: str, pool: list[str], voices: dict[str, str]) -> None:
    try:
        trial = arena.new_trial("tts", pool, prompt=text)
        pair = [trial.model_a, trial.model_b]
        results: dict[str, TtsResult] = {}
        with ui_state.exclusive(), st.spinner("Synthesizing A and B…", show_time=True):
            for run_id, r in synthesize_run(text, pair, voices_by_model={m: v for m, v in voices.items() if m in pair},
                                            cache=ui_state.model_cache()):
                results[r.model] = r
                trial.run_id = run_id
    except LabError as e:
        st.error(str(e), icon=":material/error:")
        return
    sides = {"a": results[trial.model_a], "b": results[trial.model_b]}
    cards = {side: listen_view.tts_card(r) for side, r in sides.items()}
    st.session_state["ab_tts"] = listen_view.TrialState(
        trial, outputs={s: c.wav for s, c in cards.items()},
        details={s: " · ".join(f"{m.label} {m.value}" for m in c.metrics[:4]) + (f" · voice {c.voice}" if c.voice
                                                                                  else "")
                 for s, c in cards.items()},
        errors={s: c.error for s, c in cards.items() if c.error})


def _new_asr_trial(sample: ui_state.Sample, pool: list[str]) -> None:
    key = f"sample:{sample.path}:{sample.path.stat().st_mtime_ns}"
    dec = ui_state.decoded(key, sample.name, sample.path.read_bytes)
    if dec.error:
        st.error(dec.error, icon=":material/graphic_eq:")
        return
    try:
        trial = arena.new_trial("asr", pool, prompt=sample.name, requires_playback=False)
        comp = Comparison(dec.clip, [trial.model_a, trial.model_b], sample.reference, kind="blind-asr",
                          cache=ui_state.model_cache())
        trial.run_id = comp.run_id
        with ui_state.exclusive(), st.spinner("Transcribing with A and B…", show_time=True):
            try:
                rows = {side: ResultRecord(**comp.run_model(m).row())
                        for side, m in (("a", trial.model_a), ("b", trial.model_b))}
            finally:
                comp.finish()
    except LabError as e:
        st.error(str(e), icon=":material/error:")
        return
    cards = {side: ui_cards.card_view(row, sample.reference) for side, row in rows.items()}
    st.session_state["ab_asr"] = listen_view.TrialState(
        trial, outputs={s: c.text or "" for s, c in cards.items()},
        details={s: " · ".join(f"{m.label} {m.value}" for m in c.metrics[:4]) for s, c in cards.items()},
        errors={s: c.error for s, c in cards.items() if c.error})


def _trial(key: str, task: str) -> None:
    """Draw the trial in session state: anonymised sides, play/reveal, vote, then the names."""
    state: listen_view.TrialState | None = st.session_state.get(key)
    if state is None:
        return
    trial = state.trial
    cols = st.columns(2, gap="medium")
    for side, col in zip(("a", "b"), cols, strict=True):
        with col, st.container(border=True, key=f"{key}-{side}"):
            # label() is 'A'/'B' until the vote, then the model id
            st.markdown(f"#### {side.upper()} was `{trial.label(side)}`" if trial.revealed
                        else f"#### {trial.label(side)}")
            if side in state.errors:
                st.error(state.errors[side], icon=":material/error:")
            if task == "tts":
                if side in trial.played or trial.revealed:
                    if side not in state.errors:
                        st.audio(state.outputs[side], format="audio/wav",
                                 autoplay=side == state.last_played and not trial.revealed)
                else:
                    st.button(f"Play {side.upper()}", key=f"{key}_play_{side}", icon=":material/play_arrow:",
                              on_click=_mark_played, args=(key, side), width="stretch")
            elif side not in state.errors:
                st.html(ui_cards.transcript_html(str(state.outputs[side])))
            if trial.revealed:
                st.caption(fmt.md_escape(state.details.get(side, "")))
    flash = st.session_state.pop(f"{key}_flash", None)
    if flash:
        st.error(flash)
    if trial.revealed:
        st.success(f"Vote stored: **{listen_view.VOTE_LABELS.get(state.choice or '', '—')}**. A was `{trial.model_a}`, "
                   f"B was `{trial.model_b}`. Start a new trial for the next judgement.",
                   icon=":material/how_to_vote:")
        return
    vote_cols = st.columns(len(listen_view.VOTE_LABELS))
    for (choice, label), col in zip(listen_view.VOTE_LABELS.items(), vote_cols, strict=True):
        col.button(label, key=f"{key}_vote_{choice}", disabled=not trial.can_vote, on_click=_vote,
                   args=(key, choice), width="stretch")
    if not trial.can_vote:
        st.caption("Play both A and B to vote; the names are revealed after the vote.")


def _leaderboard(task: str) -> None:
    ratings = ui_state.leaderboard(task, arena.MIN_VOTES, ui_state.votes_stamp(task))
    ranked, unranked = listen_view.leaderboard_frames(ratings)
    if not ratings:
        st.caption("No votes yet: the leaderboard fills in as trials are judged.")
        return
    if not ranked.empty:
        st.dataframe(ranked, hide_index=True, key=f"lb_{task}")
    st.caption(f"Bradley-Terry ratings (Elo-like scale, 1000 = average; ties count half) with bootstrap 95% CIs. "
               f"A model is ranked once it has at least {arena.MIN_VOTES} votes.")
    if not unranked.empty:
        st.markdown(f"**Not ranked yet** (fewer than {arena.MIN_VOTES} votes)")
        st.dataframe(unranked, hide_index=True, key=f"lb_{task}_unranked")

# --- the page -----------------------------------------------------------------------------------------------

st.title("Listen")
st.caption("One text through several voices: listen side by side, see speed and time to first audio, check "
           "intelligibility with an ASR round trip, and judge blind.")

states = store.model_states()
available = ui_state.availability()
tts_options = picker.model_options(states, available, task="tts")
asr_ready = [o.id for o in picker.model_options(states, available, task="asr") if o.available]
st.session_state.setdefault("l_text", listen_view.PROMPTS[0])

left, right = st.columns([3, 2], gap="large")
with left:
    st.text_area("Text to speak", key="l_text", height=100, max_chars=MAX_TEXT_CHARS)
with right:
    st.selectbox("Or pick a prompt (Harvard sentences)", listen_view.PROMPTS, index=None, key="l_prompt",
                 on_change=_on_prompt, placeholder="Choose a standard sentence")
    rt = st.checkbox("Intelligibility (ASR round trip)", value=True, key="l_rt",
                     help="Transcribe each output with an ASR model and score it (WER) against the input text: "
                          "a cheap, repeatable check, not a substitute for listening.")
    asr_model = st.selectbox("ASR model for the round trip", asr_ready, key="l_asr", disabled=not rt,
                             index=asr_ready.index(DEFAULT_ASR) if DEFAULT_ASR in asr_ready else 0)
text = (st.session_state.get("l_text") or "").strip()

st.subheader("Voices")
picked, voices = _tts_picker(tts_options)
go_col, why_col = st.columns([1, 4], vertical_alignment="center")
ready = bool(text) and bool(picked)
clicked = go_col.button("Synthesize", type="primary", key="l_go", disabled=not ready, icon=":material/campaign:")
if ready:
    why_col.caption(f"{len(picked)} model(s), one after another; the run is stored (kind tts) and appears in History.")
else:
    missing = [w for w, ok in (("enter some text", bool(text)), ("tick at least one voice", bool(picked))) if not ok]
    why_col.caption(f"{' and '.join(missing).capitalize()} to synthesize.")

last: listen_view.ListenOutcome | None = st.session_state.get("l_last")
if clicked and ready:
    last = _synthesize(text, picked, voices, asr_model if rt else None)
elif last is not None:
    st.caption(f"Last synthesis: “{fmt.md_escape(last.text)}”")
    _cards(last.cards)
else:
    st.info("Tick one or more voices and press **Synthesize**: players appear side by side with duration, latency, "
            "real-time factor and time to first audio.", icon=":material/lightbulb:")
if last is not None and last.run_id is not None:
    st.page_link("screens/history.py", label=f"Open run #{last.run_id} in History", icon=":material/history:",
                 query_params={"run": str(last.run_id)})

st.divider()
st.header("Blind A/B")
st.caption("Two models chosen at random, in random order, shown only as A and B until you vote. Votes add up to "
           "the leaderboards below.")
st.text_input("Your name (optional, stored with your votes)", key="ab_voter")
tab_tts, tab_asr = st.tabs([":material/record_voice_over: Voices (TTS)", ":material/subtitles: Transcripts (ASR)"])

with tab_tts:
    tts_ready = [o.id for o in tts_options if o.available]
    pool = picked if len(picked) >= 2 else tts_ready
    st.caption(f"The text above, spoken by two of: {', '.join(f'`{m}`' for m in pool) or '—'} "
               f"({'the voices ticked above' if len(picked) >= 2 else 'every available voice'}). "
               "Press Play on each (revealing its player counts as playing it); voting unlocks once both were played.")
    can_start = len(pool) >= 2 and bool(text)
    if st.button("New blind trial", key="ab_tts_new", disabled=not can_start, icon=":material/shuffle:"):
        _new_tts_trial(text, pool, voices)
    if not can_start:
        st.caption("A blind trial needs some text and at least two available TTS models.")
    _trial("ab_tts", "tts")
    st.subheader("Leaderboard · voices")
    _leaderboard("tts")

with tab_asr:
    samples = ui_state.samples()
    if not samples:
        st.info("No recordings here: put recordings with a manifest.csv (file,reference) in ../shared/audio or data/.",
                icon=":material/library_music:")
    else:
        by_id = {f"{s.source}/{s.name}": s for s in samples}
        a, b = st.columns([2, 3])
        sid = a.selectbox("Recording", list(by_id), key="ab_asr_sample", format_func=lambda k: by_id[k].label)
        asr_pool = b.multiselect("Models in the draw", asr_ready, default=asr_ready, key="ab_asr_pool",
                                 help="Two of these are drawn at random for each trial")
        sample = by_id[sid]
        st.audio(str(sample.path), format=fmt.mime_for(sample.name))
        st.caption("Listen, then read the two transcripts and vote for the more faithful one (no need to play "
                   "anything else: the judge reads).")
        if st.button("New blind trial", key="ab_asr_new", disabled=len(asr_pool) < 2, icon=":material/shuffle:"):
            _new_asr_trial(sample, asr_pool)
        if len(asr_pool) < 2:
            st.caption("Choose at least two models for the draw.")
        _trial("ab_asr", "asr")
    st.subheader("Leaderboard · transcripts")
    _leaderboard("asr")
