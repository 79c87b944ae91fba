"""An experiment's status for the page: core's status, each configuration's statistics cached.

:func:`core.experiment.experiment_status` scores every configuration (per-seed metrics
and a bootstrap interval) each time it is called: about a second per ten
configurations. The page polls once a second, so it asks core for the same status with
each configuration's statistics kept (``st.cache_data``) until one of its runs changes
state or its saved evaluation or best model changes *content* (a copied experiment, whose
files have new modification times, is not scored again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.experiment.stats import ConfigurationStats, summarise
from core.experiment.status import experiment_status
from core.kinds import best_model_file
from core.kinds.fingerprint import file_sha256
from core.runs import folder


def _digest(path: Path | None) -> str | None:
    try:
        return file_sha256(path) if path is not None and path.is_file() else None
    except OSError:
        return None


def runs_key(runs: list[dict[str, Any]]) -> tuple:
    """What a configuration's statistics depend on: its runs' states, evaluations, models.

    By content (sha256), not modification time.
    """
    return tuple(
        (
            r["path"],
            r["state"],
            _digest(Path(r["path"]) / folder.EVALUATION),
            _digest(best_model_file(Path(r["path"])) if Path(r["path"]).is_dir() else None),
        )
        for r in runs
    )


@st.cache_data(show_spinner=False, max_entries=2000)
def configuration_stats(
    objective: str, seeds: tuple[int, ...], key: tuple, runs: list[dict[str, Any]]
) -> ConfigurationStats:
    """:func:`core.experiment.stats.summarise`, kept until ``key`` changes."""
    return summarise(objective, list(seeds), runs)


def cached_stats(
    objective: str, seeds: list[int], runs: list[dict[str, Any]]
) -> ConfigurationStats:
    """:func:`core.experiment.stats.summarise` through the page's cache."""
    return configuration_stats(objective, tuple(seeds), runs_key(runs), runs)


def page_status(exp_dir: str | Path) -> dict[str, Any]:
    """The experiment's status, exactly as :func:`core.experiment.experiment_status`."""
    return experiment_status(exp_dir, stats=cached_stats)
