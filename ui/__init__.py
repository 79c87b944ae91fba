"""Shared UI code for the page scripts: sidebar, cached corpus, Plotly figure builders."""
