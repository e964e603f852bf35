"""The Streamlit dashboard: UI only. `streamlit run dashboard/app.py` (or `make run`)."""
