"""Chat: a multi-turn spoken conversation with a chat-capable model (typed or recorded turns, spoken replies)."""

from __future__ import annotations

import streamlit as st

from dashboard import format as fmt
from dashboard import picker
from dashboard import state as ui_state
from dashboard.views import chat as chat_view
from lab.audio import AudioClip
from lab.chat import Conversation, Exchange, chat_models
from lab.errors import LabError

DEFAULT_MAX_TOKENS = 512


def _new_conversation() -> None:
    st.session_state.pop("c_conv", None)
    st.session_state.pop("c_saved", None)
    st.session_state["c_rec_n"] = st.session_state.get("c_rec_n", 0) + 1  # a fresh recorder


def _save() -> None:
    conv: Conversation | None = st.session_state.get("c_conv")
    if conv is None or not conv.exchanges:
        return
    try:
        st.session_state["c_saved"] = ("ok", conv.save())
    except LabError as e:
        st.session_state["c_saved"] = ("error", str(e))
    except Exception as e:  # e.g. the database refused the write; a callback must not raise
        st.session_state["c_saved"] = ("error", f"The conversation could not be saved ({type(e).__name__}: {e}).")


def _user(ex: Exchange) -> None:
    with st.chat_message("user"):
        if ex.user.text:
            st.markdown(fmt.md_escape(ex.user.text))
        if ex.user.audio is not None:
            st.audio(ex.user.audio.data, format=fmt.mime_for(ex.user.audio.name))


def _assistant(ex: Exchange) -> None:
    with st.chat_message("assistant"):
        if ex.error:
            st.error(ex.error, icon=":material/error:")
            return
        text = ex.reply.text.strip() if ex.reply else ""
        st.markdown(fmt.md_escape(text) if text else "_(no text in this reply)_")
        wav = chat_view.reply_wav(ex.reply)
        if wav:
            st.audio(wav, format="audio/wav")
        caption = chat_view.exchange_caption(ex)
        if caption:
            st.caption(caption)


def _unavailable(model: str, hint: str | None) -> None:
    st.warning(f"**{fmt.md_escape(fmt.display_name(model))}** cannot run here: "
               f"{fmt.md_escape(picker.short_hint(model, hint))}.", icon=":material/cloud_off:")
    with st.container(border=True):
        st.markdown("**To chat with it:**\n" + "\n".join(f"- {s}" for s in chat_view.setup_steps(model)))
        st.caption(f"The check said: {fmt.md_escape(hint or 'availability unknown')}")
        st.button("Check again", key="c_recheck", icon=":material/refresh:", on_click=ui_state.availability.clear,
                  help="Availability is otherwise re-checked every 5 minutes")

st.title("Chat")
st.caption("Talk to a speech chat model: type or record a turn, it answers in text and speech. The conversation "
           "stays in this browser session until you save it to History or start a new one.")

models = chat_models()
if not models:
    st.info("No chat-capable model in the catalog (a model with the task `chat` in lab/catalog.yaml).",
            icon=":material/forum:")
else:
    avail = {a.model: a for a in ui_state.availability()}
    top = st.columns([3, 2, 1.4, 1.4], vertical_alignment="bottom")
    model = top[0].selectbox("Model", models, key="c_model", format_func=lambda m: f"{fmt.display_name(m)} · {m}")
    a = avail.get(model)
    if a is None or not a.available:
        _unavailable(model, a.hint if a else None)
    else:
        max_tokens = top[1].number_input("Reply budget (tokens)", min_value=8, max_value=4096,
                                         value=DEFAULT_MAX_TOKENS, step=64, key="c_max_tokens",
                                         help="Text and audio tokens together; speech uses most of them")
        conv: Conversation | None = st.session_state.get("c_conv")
        if conv is None or conv.model != model:
            conv = st.session_state["c_conv"] = Conversation(model)
            st.session_state.pop("c_saved", None)
        notice, history = st.container(), st.container()
        with history:
            for ex in conv.exchanges:
                _user(ex)
                _assistant(ex)

        rec_key = f"c_rec_{st.session_state.get('c_rec_n', 0)}"
        rec = st.audio_input("Record a spoken turn (sent when you stop recording)", key=rec_key)
        prompt = st.chat_input("Type a message", key="c_input")
        turn: tuple[str, AudioClip | None] | None = None
        if prompt and prompt.strip():
            turn = (prompt.strip(), None)
        elif rec is not None:
            st.session_state["c_rec_n"] = st.session_state.get("c_rec_n", 0) + 1  # the next rerun gets a fresh one
            dec = ui_state.decoded(f"chat:{rec.file_id}", "spoken-turn.wav", rec.getvalue)
            if dec.error:
                history.error(dec.error, icon=":material/mic_off:")
            else:
                turn = ("", dec.clip)
        if turn is not None:
            with history:
                with ui_state.exclusive(), st.spinner(f"{model} is answering…", show_time=True):
                    ex = conv.say(text=turn[0], audio=turn[1], cache=ui_state.model_cache(),
                                  max_new_tokens=int(max_tokens))
                _user(ex)
                _assistant(ex)
            st.session_state.pop("c_saved", None)  # there is more to save now

        # drawn last (in their places at the top) so they reflect a turn taken in this run
        top[2].button("Save conversation", key="c_save", on_click=_save, disabled=not conv.exchanges,
                      icon=":material/save:", width="stretch")
        top[3].button("New conversation", key="c_new", on_click=_new_conversation, icon=":material/add_comment:",
                      width="stretch")
        with notice:
            saved = st.session_state.get("c_saved")
            if saved and saved[0] == "ok":
                st.success(f"Saved as run #{saved[1]} (kind chat, one result per exchange, audio kept).",
                           icon=":material/check_circle:")
                st.page_link("screens/history.py", label=f"Open run #{saved[1]} in History",
                             icon=":material/history:", query_params={"run": str(saved[1])})
            elif saved:
                st.error(saved[1])
            if not conv.exchanges:
                st.info("Type a message below, or record a spoken turn. Replies come as text with a player for the "
                        "spoken answer.", icon=":material/lightbulb:")
