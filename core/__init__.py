"""Core of the depression-detection dashboard: data, models, training, runs, evaluation.

Nothing under ``core`` imports streamlit, so every part runs in a plain Python process.
"""
