"""Model Lab dashboard entry point: `streamlit run app.py`. UI only; every number comes from `lab`."""

from __future__ import annotations

import traceback

import streamlit as st

from lab.store import mark_interrupted_runs_once

st.set_page_config(page_title="Model Lab", page_icon=":material/graphic_eq:", layout="wide")
mark_interrupted_runs_once()  # once per server process: runs whose owner died are shown as interrupted

PAGES = [
    st.Page("screens/compare.py", title="Compare", icon=":material/compare_arrows:", default=True),
    st.Page("screens/benchmarks.py", title="Benchmarks", icon=":material/speed:"),
    st.Page("screens/listen.py", title="Listen", icon=":material/headphones:"),
    st.Page("screens/chat.py", title="Chat", icon=":material/forum:"),
    st.Page("screens/registry.py", title="Registry", icon=":material/inventory_2:"),
    st.Page("screens/history.py", title="History", icon=":material/history:"),
    st.Page("screens/system.py", title="System", icon=":material/memory:"),
]

page = st.navigation(PAGES)
with st.sidebar:
    st.caption("**Model Lab** · compare speech models on evidence: transcripts, errors, latency, lifecycle.")

try:
    page.run()
except Exception as e:  # st.rerun/st.stop are BaseExceptions and pass through
    # A bug must never put a traceback in front of a stakeholder: one line on the page, details in the log.
    traceback.print_exc()
    st.error(f"Something went wrong on this page ({type(e).__name__}: {e}). "
             "The details are in the server log; other pages keep working.", icon=":material/error:")
