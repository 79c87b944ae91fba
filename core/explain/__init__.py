"""Explanations: attention, attributions and feature importances, without streamlit."""
