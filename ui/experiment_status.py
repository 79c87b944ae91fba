"""An experiment's status for the page, each configuration's statistics cached.

:func:`core.experiment.experiment_status` scores every configuration (per-seed metrics
and bootstrap intervals) each time it is called: about a second per ten configurations.
The page polls once a second, so it builds the same status here with each
configuration's statistics kept (``st.cache_data``) until one of its runs changes state
or is evaluated again: a run that lands costs its own configuration only.
``tests/screens/test_experiments_page.py`` checks that both give the same status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.experiment.folder import Experiment
from core.experiment.stats import run_predictions, summarise
from core.experiment.status import configuration_entries, status_of
from core.runs import folder
from core.runs.state import SUCCEEDED
from ui.runs_tables import pooled_participants


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def runs_key(runs: list[dict[str, Any]]) -> tuple:
    """What a configuration's statistics depend on: its runs' states and evaluations."""
    return tuple((r["path"], r["state"], _mtime(Path(r["path"]) / folder.EVALUATION)) for r in runs)


@st.cache_data(show_spinner=False, max_entries=2000)
def configuration_stats(
    objective: str, seeds: tuple[int, ...], key: tuple, runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """:func:`core.experiment.stats.summarise`, kept until ``key`` changes."""
    return summarise(objective, list(seeds), runs)


@st.cache_data(show_spinner=False, max_entries=2000)
def configuration_predictions(key: tuple, runs: list[dict[str, Any]]) -> list[dict] | None:
    """Seed-averaged participant predictions once every run succeeded, else None."""
    if not runs or any(r["state"] not in SUCCEEDED for r in runs):
        return None
    rows = [run_predictions(Path(r["path"])) for r in runs]
    if any(r is None for r in rows):
        return None
    try:
        return pooled_participants(rows)
    except ValueError:  # runs that disagree on a label: not comparable
        return None


def page_status(exp_dir: str | Path) -> tuple[dict[str, Any], dict[str, list[dict]]]:
    """The experiment's status (as ``experiment_status``) and its configurations' predictions.

    Returns
    -------
    tuple
        The status dict, and configuration ID to its seed-averaged participant
        predictions for every configuration whose runs all succeeded.
    """
    exp = Experiment(exp_dir)
    seeds = tuple(exp.spec.seeds)

    def cached(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return configuration_stats(exp.spec.objective, seeds, runs_key(runs), runs)

    status = status_of(exp, configuration_entries(exp, summarise_runs=cached))
    predictions = {}
    for entry in status["configurations"]:
        if not entry["complete"]:
            continue
        rows = configuration_predictions(runs_key(entry["runs"]), entry["runs"])
        if rows is not None:
            predictions[entry["id"]] = rows
    return status, predictions
