"""Registry: models by lifecycle state, promote/demote under the core's rules, and the audit trail."""

from __future__ import annotations

import streamlit as st

from dashboard import picker
from dashboard import state as ui_state
from dashboard.views import registry as registry_view
from lab import lifecycle, store
from lab.catalog import STATES
from lab.errors import LabError, TransitionError
from lab.eval import regress


def _apply() -> None:
    """Runs before the page redraws, so the tables below already show the new state."""
    model, target = st.session_state.get("t_model"), st.session_state.get("t_target")
    reason = (st.session_state.get("t_reason") or "").strip()
    if not model or not target:
        st.session_state["registry_flash"] = ("error", "Pick a model and a target state.")
        return
    try:
        moved = lifecycle.transition(model, target, reason)
    except TransitionError as e:  # the message names the rule; its code picks the action that satisfies it
        st.session_state["registry_flash"] = ("error", str(e))
        st.session_state["registry_refusal"] = (list(e.rules), model)
        return
    except LabError as e:
        st.session_state["registry_flash"] = ("error", str(e))
        return
    except Exception as e:  # a callback's exception would reach the page as a traceback
        st.session_state["registry_flash"] = ("error", f"The move could not be recorded ({type(e).__name__}: {e}).")
        return
    st.session_state["t_reason"] = ""
    st.session_state["registry_flash"] = ("success", " · ".join(
        f"{t.model_id}: {t.from_state} → {t.to_state}" for t in moved) + " (recorded in the history below)")


def _offer_actions(rules: list[str], model: str) -> None:
    """Beside a refusal: a link to the page section that satisfies the rule, with the CLI way."""
    for action in registry_view.refusal_actions(rules, model):
        if action.page:
            st.page_link(action.page, label=action.label, icon=":material/arrow_forward:",
                         query_params={"model": model})
        else:
            st.caption(action.label)
        if action.cli:
            st.caption(f"or on the command line: `{action.cli}`")


st.title("Registry")
st.caption("Every model in the catalog by lifecycle state, with where it runs and its latest evaluation per dataset "
           "(corpus WER with its 95% CI; ad-hoc Compare runs do not count). Moves go one step at a time, need a "
           "reason, and are kept in an append-only history with the evaluation and regression report they passed on.")
alerts = regress.alerts()
if alerts:
    st.warning(registry_view.alerts_markdown(alerts), icon=":material/warning:")

states = store.model_states()
options = picker.model_options(states, ui_state.availability(), task=None)
counts = st.columns(len(STATES))
for state, col in zip(STATES, counts, strict=True):
    col.metric(state.capitalize(), sum(1 for o in options if o.state == state), border=True)

with st.container(border=True):
    st.markdown("**Promote or demote a model**")
    a, b, c = st.columns([3, 2, 4])
    model = a.selectbox("Model", [o.id for o in options], index=None, key="t_model", placeholder="Choose a model",
                        format_func=lambda m: f"{m} · {states.get(m, '?')}")
    b.selectbox("Move to", STATES, index=None, key="t_target", placeholder="Target state")
    c.text_input("Reason (required)", key="t_reason", placeholder="e.g. WER 4.1% on the eval set, beats production")
    go, hint = st.columns([1, 5], vertical_alignment="center")
    # never disabled: a disabled button would swallow the click that commits the reason being typed
    go.button("Apply", type="primary", key="t_apply", on_click=_apply)
    if model:
        allowed = lifecycle.ALLOWED[states[model]]
        hint.caption(f"From **{states[model]}**, `{model}` may go to {' or '.join(allowed)}. Promoting to "
                     "production moves the current production model for the same task and language back to "
                     "candidate.")
    else:
        hint.caption("Choose a model, a target state and give a reason.")
    flash = st.session_state.pop("registry_flash", None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    refusal = st.session_state.pop("registry_refusal", None)
    if refusal:
        _offer_actions(*refusal)

frames = registry_view.registry_frames(options, lifecycle.evaluations_by_model())
for state in STATES:
    color, icon = picker.STATE_STYLE[state]
    st.subheader(f":{color}[{icon}] {state.capitalize()}")
    frame = frames[state]
    if frame.empty:
        st.caption(f"No {state} models.")
        continue
    st.dataframe(frame, hide_index=True, key=f"reg_{state}", height=35 * (len(frame) + 1) + 3, column_config={
        "Available": st.column_config.CheckboxColumn(width="small"),
        "Weights / how to get them": st.column_config.TextColumn(width="large"),
    })

st.subheader("Transition history")
trail = registry_view.transitions_frame(lifecycle.history())
if trail.empty:
    st.info("No transitions yet. Promote a model above; every move is recorded here with who, when, why and the "
            "metrics it was decided on.", icon=":material/history_edu:")
else:
    st.dataframe(trail, hide_index=True, key="trail")
