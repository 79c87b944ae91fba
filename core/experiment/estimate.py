"""How many runs an experiment will train, and roughly how long, before it starts.

The time comes from what earlier runs of the same modality measured on this machine:
the median seconds per epoch recorded in their ``metrics.jsonl`` (``elapsed_s``), times
the epochs a run may train, or for kinds without epochs (text) the median time a whole
run took. Early stopping makes most runs shorter, so the figure is an upper bound.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core import hparams
from core.experiment.spec import ExperimentSpec
from core.runs import folder
from core.runs.state import SUCCEEDED

MAX_RUNS_READ = 30
"""Newest earlier runs of the modality read for the estimate (reading is cheap, not free)."""


def run_count(spec: ExperimentSpec) -> int:
    """Runs the experiment trains: configurations x seeds x folds."""
    return spec.trials * len(spec.seeds) * (spec.folds or 1)


def max_epochs(spec: ExperimentSpec) -> int | None:
    """The most epochs one run may train (the largest searched value); None without epochs."""
    h = hparams.by_name("max_epochs")
    if spec.modality not in h.modalities:  # text runs fit once, without epochs
        return None
    if "max_epochs" in spec.fixed:
        return int(spec.fixed["max_epochs"])
    space = spec.search.get("max_epochs")
    if isinstance(space, list):
        return int(max(space))
    if isinstance(space, dict):
        return int(space["high"])
    return int(h.default_for(spec.modality))


def earlier_runs(runs_root: Path) -> list[Path]:
    """Run folders under the runs root and inside its experiments, newest first."""
    root = Path(runs_root)
    candidates = [p.parent for p in root.glob(f"*/{folder.CONFIG}")]
    candidates += [p.parent for p in root.glob(f"experiments/*/runs/*/{folder.CONFIG}")]
    stamped = []
    for path in candidates:
        try:
            stamped.append((path.stat().st_mtime, path))
        except OSError:
            continue
    return [path for _, path in sorted(stamped, reverse=True)]


def _timings(run_dir: Path) -> tuple[str | None, list[float], float | None]:
    """A run's modality, its epochs' seconds, and how long it took if it succeeded."""
    config = folder.read_json(run_dir / folder.CONFIG) or {}
    status = folder.read_json(run_dir / folder.STATUS) or {}
    epochs = [
        float(r["elapsed_s"])
        for r in folder.read_metrics(run_dir)
        if isinstance(r.get("elapsed_s"), (int, float)) and math.isfinite(r["elapsed_s"])
    ]
    whole = None
    started, ended = status.get("started"), status.get("heartbeat")
    if status.get("state") in SUCCEEDED and isinstance(started, (int, float)) and ended:
        whole = max(0.0, float(ended) - float(started))
    return config.get("modality"), epochs, whole


def measured(modality: str, run_dirs: Iterable[Path]) -> dict[str, Any]:
    """Median seconds per epoch and per whole run of earlier runs of ``modality``.

    Parameters
    ----------
    modality : str
        The experiment's modality.
    run_dirs : iterable of pathlib.Path
        Earlier run folders, newest first (see :func:`earlier_runs`).

    Returns
    -------
    dict
        ``epoch_s`` and ``run_s`` (medians, None without measurements), ``runs`` (how
        many runs were measured) and ``epochs`` (how many epochs).
    """
    epochs: list[float] = []
    wholes: list[float] = []
    runs = 0
    for run_dir in run_dirs:
        if runs >= MAX_RUNS_READ:
            break
        try:
            kind, seconds, whole = _timings(Path(run_dir))
        except (OSError, ValueError):
            continue
        if kind != modality or (not seconds and whole is None):
            continue
        runs += 1
        epochs += seconds
        if whole is not None:
            wholes.append(whole)
    return {
        "epoch_s": statistics.median(epochs) if epochs else None,
        "run_s": statistics.median(wholes) if wholes else None,
        "runs": runs,
        "epochs": len(epochs),
    }


def estimate(spec: ExperimentSpec, runs_root: Path, workers: int) -> dict[str, Any]:
    """The plain summary shown before an experiment starts.

    Parameters
    ----------
    spec : ExperimentSpec
        The validated spec.
    runs_root : pathlib.Path
        Where earlier runs are (their measured times are the basis).
    workers : int
        Runs trained at the same time.

    Returns
    -------
    dict
        ``runs`` (to train), ``max_epochs`` (per run; None for text), ``per_run_s`` and ``total_s``
        (rough upper bounds; None without earlier runs of the modality), ``basis``
        (what the time rests on, in words) and ``workers``.
    """
    n_runs = run_count(spec)
    workers = max(1, int(workers))
    epochs = max_epochs(spec)
    seen = measured(spec.modality, earlier_runs(runs_root))
    if seen["epoch_s"] is not None and epochs is not None:
        per_run = seen["epoch_s"] * epochs
        basis = (
            f"{seen['epochs']} epochs of {seen['runs']} earlier {spec.modality} runs "
            f"(median {seen['epoch_s']:.2f} s per epoch) x up to {epochs} epochs"
        )
    elif seen["run_s"] is not None:
        per_run = seen["run_s"]
        basis = f"{seen['runs']} earlier {spec.modality} runs (median {per_run:.1f} s each)"
    else:
        per_run, basis = None, f"no earlier {spec.modality} run on this machine to measure"
    total = None if per_run is None else per_run * math.ceil(n_runs / workers)
    return {
        "runs": n_runs,
        "max_epochs": epochs,
        "per_run_s": per_run,
        "total_s": total,
        "basis": basis,
        "workers": workers,
    }


def duration_text(seconds: float | None) -> str:
    """``"about 12 min"``, ``"about 40 s"``, ``"about 2.5 h"``; "unknown" for None."""
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
