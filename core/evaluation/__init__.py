"""Participant-level evaluation: aggregation, metrics, bootstrap intervals, baselines."""

from core.evaluation.metrics import (
    aggregate_windows,
    bootstrap_intervals,
    evaluate,
    participant_metrics,
    trivial_baselines,
)

__all__ = [
    "aggregate_windows",
    "bootstrap_intervals",
    "evaluate",
    "participant_metrics",
    "trivial_baselines",
]
