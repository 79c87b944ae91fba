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

from core.experiment import folder as exp_folder
from core.experiment.folder import Experiment
from core.experiment.stats import run_predictions, summarise
from core.experiment.status import (
    _run_entry,
    best_configuration,
    driver_state,
    process_record,
)
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
    state, reason = driver_state(exp.path)
    configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
    outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
    entries, predictions = [], {}
    for cid, info in sorted(configurations.items()):
        runs = [_run_entry(exp, plan, outcomes) for plan in exp.plans(cid)]
        key = runs_key(runs)
        n_done = sum(r["state"] in SUCCEEDED for r in runs)
        stats = configuration_stats(exp.spec.objective, tuple(exp.spec.seeds), key, runs)
        entries.append(
            {
                "id": cid,
                "trial": info.get("trial"),
                "params": info.get("params", {}),
                "objective": exp.spec.objective,
                "n_runs": len(runs),
                "n_done": n_done,
                "n_failed": sum(r["state"] == "failed" for r in runs),
                "complete": n_done == len(runs),
                **stats,
                "runs": runs,
            }
        )
        if n_done == len(runs) and (rows := configuration_predictions(key, runs)) is not None:
            predictions[cid] = rows
    promotion = process_record(exp.path / exp_folder.PROMOTION / exp_folder.PROMOTION_FILE)
    status = {
        "name": exp.spec.name,
        "path": str(exp.path),
        "state": state,
        "reason": reason,
        "spec": exp.spec.to_dict(),
        "objective": exp.spec.objective,
        "direction": exp.spec.direction,
        "threads": exp.threads,
        "configurations": entries,
        "n_runs": sum(e["n_runs"] for e in entries),
        "n_planned": exp.spec.trials * len(exp.plans("c000")),
        "done": sum(e["n_done"] for e in entries),
        "best": best_configuration(entries, exp.spec.direction),
        "promotion": promotion or None,
    }
    return status, predictions
