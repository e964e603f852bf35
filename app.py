"""Model Lab dashboard entry point (Streamlit). UI only: every number comes from `lab`."""

import streamlit as st

st.set_page_config(page_title="Model Lab", page_icon="🎙️", layout="wide")
st.title("Model Lab")
st.write("Compare speech models side by side. The full dashboard is on its way; meanwhile use the `lab` CLI.")
