"""System: the machine, library versions, engines and their weights, loaded models, the database."""

from __future__ import annotations

import platform
import sys

import psutil
import streamlit as st

from dashboard import format as fmt
from dashboard import state as ui_state
from dashboard.views import system as system_view
from lab.loading import default_threads, detect_device
from lab.machine import cpu_model, gpu, library_versions

st.title("System")
st.caption("What this dashboard runs on. Every stored run keeps the same fingerprint, so figures stay comparable.")

with st.spinner("Looking for accelerators…"):
    device = detect_device()  # imports torch once per process; cached by the core
accel = gpu()
mem = psutil.virtual_memory()
m = st.columns(5)
m[0].metric("Device", device.upper(), help="cuda > mps > cpu; LAB_DEVICE overrides", border=True)
m[1].metric("CPU cores", f"{psutil.cpu_count(logical=False) or '?'} / {psutil.cpu_count(logical=True)}",
            help="physical / logical", border=True)
m[2].metric("Threads used", default_threads(), help="LAB_THREADS, else the physical cores", border=True)
m[3].metric("Memory", f"{mem.total / 2**30:.1f} GiB", help=f"{mem.available / 2**30:.1f} GiB available",
            border=True)
m[4].metric("Python", platform.python_version(), border=True)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Hardware")
    st.markdown(f"- **CPU:** {fmt.md_escape(cpu_model())}\n"
                f"- **GPU:** {fmt.md_escape(accel['name']) + ' (' + accel['kind'] + ')' if accel else 'none found'}\n"
                f"- **Platform:** {fmt.md_escape(platform.platform())}\n"
                f"- **Python:** `{sys.executable}`")
with right:
    st.subheader("Libraries")
    versions = system_view.versions_frame(library_versions())
    st.dataframe(versions, hide_index=True, key="versions", height=35 * (len(versions) + 1) + 3)

st.subheader("Engines and weights")
head, refresh = st.columns([5, 1], vertical_alignment="bottom")
head.caption("Where each model's weights come from here, or what to install to make it available.")
if refresh.button("Re-check", icon=":material/refresh:", key="recheck"):
    ui_state.availability.clear()
st.dataframe(system_view.engines_frame(ui_state.availability()), hide_index=True, key="engines", column_config={
    "Available": st.column_config.CheckboxColumn(width="small"),
    "Where / how to get them": st.column_config.TextColumn(width="large"),
})

st.subheader("Models loaded in memory")
cache = ui_state.model_cache()
loaded = cache.loaded()
c = st.columns(3)
c[0].metric("Loaded", len(loaded))
c[1].metric("Memory used (estimate)", fmt.fmt_bytes(cache.used_bytes()))
c[2].metric("Budget", fmt.fmt_bytes(cache.budget_bytes), help="LAB_MEMORY_BUDGET_GB, else 60% of RAM; the "
            "least recently used model is evicted to make room")
if loaded:
    st.dataframe(system_view.cache_frame(loaded), hide_index=True, key="cache")
    if st.button("Unload all models", icon=":material/eject:", key="unload"):
        cache.clear()
        st.rerun()
else:
    st.info("No model loaded yet. The first comparison loads each model once; later runs reuse it.",
            icon=":material/hourglass_empty:")

st.subheader("Database")
db = system_view.db_info()
d = st.columns(4)
d[0].metric("Runs", f"{db.runs:,}")
d[1].metric("Results", f"{db.results:,}")
d[2].metric("Database size", fmt.fmt_bytes(db.size_bytes) if db.path else "server")
d[3].metric("Stored audio", fmt.fmt_bytes(db.clips_bytes), help=f"{db.clips:,} clips")
st.markdown(f"- **URL:** `{db.url}`  (set `LAB_DB_URL` to change it)\n- **Clips folder:** `{db.clips_dir}`")
