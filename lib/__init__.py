"""MeterMitra's library: every piece of logic, callable without Streamlit."""
