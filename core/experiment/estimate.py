"""How many runs an experiment will train, and roughly how long, before it starts.

The time rests on wall time measured on this machine, start-up included. A worker's
*first* run costs far more than the ones after it (it imports the training code, opens
the corpus and fills its caches: 13-23 s here, against about 1 s for a later run of a
few epochs), so the two are measured apart:

- **per run**: the median seconds per epoch of earlier runs of the same modality (their
  ``metrics.jsonl``, ``elapsed_s``) times the epochs a run may train, plus the median
  *start-up*, a run's wall time outside its epochs, of a worker's first run and of a
  later one. A run's wall time is its task's (``task_s`` in an experiment's
  ``outcomes.json``; a worker's first is the first outcome with its process ID), or, for
  a run started on its own (a first run), from its ``status.json`` ``started`` to its
  saved evaluation (or last status). Text runs, without epochs, are all start-up.
- **per experiment**: the fixed cost of setting up the folder, starting the driver and
  the local Dask cluster and closing them, measured in earlier experiments as their wall
  time (``created`` to the driver's ``ended``) less the time their runs took.

The experiment then takes about that fixed cost, plus one first run (the workers start
theirs together), plus the later runs shared among the workers. What was not measured
yet falls back to :data:`RUN_STARTUP_S`, :data:`LATER_RUN_STARTUP_S` and
:data:`CLUSTER_START_S`, measured on the development machine. Every run is counted with
all its epochs, and early stopping makes most runs shorter, so the figure is an upper
bound of sorts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeGuard

from core import hparams
from core.experiment.spec import ExperimentSpec
from core.runs import folder
from core.runs.state import SUCCEEDED

MAX_RUNS_READ = 30
"""Newest earlier runs of the modality read for the estimate (reading is cheap, not free)."""
MAX_EXPERIMENTS_READ = 10
"""Newest earlier experiments read for the cluster's start-up."""
RUN_STARTUP_S = 15.0
"""A worker's first run: its wall time outside its epochs when not measured yet (seconds).

Measured on the development machine (2 cores; audio, 3 epochs of 0.1 s, on a
24-participant synthetic corpus of 0.5-minute sessions, 2 workers): 7-9 s on an idle
machine, 13-23 s while other work shared its cores (importing the training code,
opening the corpus, cutting windows, evaluating dev).
"""
LATER_RUN_STARTUP_S = 1.0
"""A worker's later run: its wall time outside its epochs when not measured yet (seconds).

Measured as :data:`RUN_STARTUP_S`: 0.4-1.6 s per run, its epochs included.
"""
CLUSTER_START_S = 20.0
"""An experiment's fixed cost when not measured yet (seconds): setting up its folder,
starting the driver and the local Dask cluster (its workers import torch), and closing
them.

Measured on the development machine (2 cores, 2 workers, experiments of 2 to 8 runs)
from the experiment's creation to its driver's end, less its runs' time: 10 s on an
idle machine, 20-25 s while other work shared its cores.
"""


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


def _outcomes(run_dir: Path) -> dict[str, Any]:
    """The ``outcomes.json`` of the experiment a run belongs to (empty for other runs)."""
    if run_dir.parent.name != "runs":
        return {}
    try:
        outcomes = folder.read_json(run_dir.parent.parent / "outcomes.json")
    except (OSError, ValueError):
        return {}
    return outcomes if isinstance(outcomes, dict) else {}


def worker_firsts(outcomes: dict[str, Any]) -> set[str]:
    """The runs that were their worker's first: the first outcome of each process ID."""
    seen: set[Any] = set()
    firsts = set()
    for name, outcome in outcomes.items():  # in the order the driver collected them
        pid = (outcome or {}).get("pid")
        if pid not in seen:
            seen.add(pid)
            firsts.add(name)
    return firsts


def _number(value: Any) -> TypeGuard[float]:  # an int or a float, not a bool
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wall_s(run_dir: Path, status: dict[str, Any]) -> tuple[float | None, bool]:
    """A finished run's whole wall time (None when unknown), and whether it came first.

    First: the first run of its worker process (a run started on its own always is).
    """
    if status.get("state") not in SUCCEEDED:
        return None, True
    outcomes = _outcomes(run_dir)
    outcome = outcomes.get(run_dir.name) or {}
    fresh = not outcome.get("reused") and not outcome.get("resumed")
    if fresh and _number(outcome.get("task_s")):
        return float(outcome["task_s"]), run_dir.name in worker_firsts(outcomes)
    started = status.get("started")
    evaluation = run_dir / folder.EVALUATION
    ended = evaluation.stat().st_mtime if evaluation.is_file() else status.get("heartbeat")
    if not _number(started) or not _number(ended):
        return None, True
    return max(0.0, float(ended) - float(started)), True


def _timings(run_dir: Path) -> tuple[str | None, list[float], float | None, bool]:
    """A run's modality, its epochs' seconds, its whole wall time, and whether first."""
    config = folder.read_json(run_dir / folder.CONFIG) or {}
    status = folder.read_json(run_dir / folder.STATUS) or {}
    epochs = [
        float(r["elapsed_s"])
        for r in folder.read_metrics(run_dir)
        if _number(r.get("elapsed_s")) and math.isfinite(r["elapsed_s"])
    ]
    return (config.get("modality"), epochs, *_wall_s(run_dir, status))


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measured(modality: str, run_dirs: Iterable[Path]) -> dict[str, Any]:
    """Median seconds per epoch and start-up of earlier runs of ``modality``.

    Parameters
    ----------
    modality : str
        The experiment's modality.
    run_dirs : iterable of pathlib.Path
        Earlier run folders, newest first (see :func:`earlier_runs`).

    Returns
    -------
    dict
        ``epoch_s``, ``first_s`` and ``later_s`` (the start-up, a run's wall time
        outside its epochs, of a worker's first run and of a later one): medians, None
        without measurements; ``runs`` (runs measured), ``epochs`` (epochs measured),
        ``firsts`` and ``laters`` (whole runs measured of each).
    """
    epochs: list[float] = []
    startups: dict[bool, list[float]] = {True: [], False: []}
    runs = 0
    for run_dir in run_dirs:
        if runs >= MAX_RUNS_READ:
            break
        try:
            kind, seconds, whole, first = _timings(Path(run_dir))
        except (OSError, ValueError):
            continue
        if kind != modality or (not seconds and whole is None):
            continue
        runs += 1
        epochs += seconds
        if whole is not None:
            startups[first].append(max(0.0, whole - sum(seconds)))
    return {
        "epoch_s": _median(epochs),
        "first_s": _median(startups[True]),
        "later_s": _median(startups[False]),
        "runs": runs,
        "epochs": len(epochs),
        "firsts": len(startups[True]),
        "laters": len(startups[False]),
    }


def _experiment_overhead(exp_dir: Path) -> float | None:
    """An earlier experiment's wall time less its runs' time; None if not measurable.

    Only an experiment that ran once, start to end (completed, every run trained by it:
    none reused or resumed), on a local cluster, is measured. Its runs' time is its
    longest first run (the workers start theirs together) and its later runs shared
    among its workers, as :func:`estimate` counts them.
    """
    setup = folder.read_json(exp_dir / "experiment.json") or {}
    driver = folder.read_json(exp_dir / "driver.json") or {}
    outcomes = folder.read_json(exp_dir / "outcomes.json") or {}
    created, ended = setup.get("created"), driver.get("ended")
    if driver.get("state") != "completed" or setup.get("scheduler") or not outcomes:
        return None
    if not _number(created) or not _number(ended):
        return None
    for outcome in outcomes.values():
        if outcome.get("reused") or outcome.get("resumed") or not _number(outcome.get("task_s")):
            return None
    firsts = worker_firsts(outcomes)
    first = max(float(o["task_s"]) for name, o in outcomes.items() if name in firsts)
    later = sum(float(o["task_s"]) for name, o in outcomes.items() if name not in firsts)
    workers = max(1, int(driver.get("workers") or setup.get("workers") or 1))
    return max(0.0, float(ended) - float(created) - first - later / workers)


def measured_cluster(runs_root: Path) -> dict[str, Any]:
    """The median fixed cost of earlier experiments (driver and cluster start and close).

    Returns
    -------
    dict
        ``cluster_s`` (None without a measured experiment) and ``experiments`` (how many).
    """
    root = Path(runs_root) / "experiments"
    stamped = []
    for path in root.glob("*/driver.json"):
        try:
            stamped.append((path.stat().st_mtime, path.parent))
        except OSError:
            continue
    found = []
    for _, exp_dir in sorted(stamped, reverse=True)[:MAX_EXPERIMENTS_READ]:
        try:
            overhead = _experiment_overhead(exp_dir)
        except (OSError, ValueError, TypeError, AttributeError):
            continue
        if overhead is not None:
            found.append(overhead)
    return {"cluster_s": _median(found), "experiments": len(found)}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _per_run(epochs: int | None, seen: dict[str, Any], modality: str) -> tuple:
    """Seconds of a worker's first run and of a later one, and how, in words.

    ``(None, None, why)`` when nothing of the modality was measured.
    """
    if seen["runs"] == 0 or (epochs is not None and seen["epoch_s"] is None):
        return None, None, f"no earlier {modality} run on this machine to measure"
    if epochs is None and seen["first_s"] is None and seen["later_s"] is None:
        return None, None, f"no finished earlier {modality} run on this machine to measure"
    usual = "not measured here yet: the usual figure"
    if seen["first_s"] is not None:
        first, first_how = seen["first_s"], f"median of {_plural(seen['firsts'], 'run')}"
    elif epochs is None:  # text: a first run costs at least what a later one did
        first, first_how = seen["later_s"], "as a later run (no first run measured)"
    else:
        first, first_how = RUN_STARTUP_S, usual
    if seen["later_s"] is not None:
        later, later_how = seen["later_s"], f"median of {_plural(seen['laters'], 'run')}"
    elif epochs is None:  # text: its fit is all of a run; no cheaper later run is known
        later, later_how = first, "as a first run (no later run measured)"
    else:
        later, later_how = LATER_RUN_STARTUP_S, usual
    how = f"start-up of a worker's first run {first:.0f} s ({first_how}), of a later run "
    how += f"{later:.1f} s ({later_how})"
    if epochs is not None:
        training = seen["epoch_s"] * epochs
        how += (
            f", + up to {epochs} epochs x {seen['epoch_s']:.2f} s (median of "
            f"{seen['epochs']} epochs of {_plural(seen['runs'], f'earlier {modality} run')})"
        )
        first, later = first + training, later + training
    return first, later, how


def estimate(
    spec: ExperimentSpec, runs_root: Path, workers: int, scheduler: str | None = None
) -> dict[str, Any]:
    """The plain summary shown before an experiment starts.

    Parameters
    ----------
    spec : ExperimentSpec
        The validated spec.
    runs_root : pathlib.Path
        Where earlier runs and experiments are (their measured times are the basis).
    workers : int
        Runs trained at the same time.
    scheduler : str, optional
        A Dask scheduler's address: its cluster runs already, so no cluster start-up is
        counted.

    Returns
    -------
    dict
        ``runs`` (to train), ``max_epochs`` (per run; None for text), ``per_run_s`` (a
        worker's first run, start-up included), ``later_run_s`` (a later run),
        ``cluster_s`` (the driver's and cluster's start and close) and ``total_s``
        (rough upper bounds; None without earlier runs of the modality), ``basis`` (how
        the time was estimated, in words) and ``workers``.
    """
    n_runs = run_count(spec)
    workers = max(1, int(workers))
    epochs = max_epochs(spec)
    seen = measured(spec.modality, earlier_runs(runs_root))
    first, later, how = _per_run(epochs, seen, spec.modality)
    if scheduler:
        cluster, where = 0.0, "no cluster start-up (the scheduler's cluster runs already)"
    else:
        found = measured_cluster(runs_root)
        cluster = found["cluster_s"] if found["cluster_s"] is not None else CLUSTER_START_S
        counted = (
            f"median of {_plural(found['experiments'], 'earlier experiment')}"
            if found["cluster_s"] is not None
            else "not measured here yet: the usual figure"
        )
        where = f"{cluster:.0f} s to set up, start and close the driver and cluster ({counted})"
    if first is None or later is None:
        total, basis = None, how
    else:
        rest = max(0, n_runs - workers)
        total = cluster + first + rest * later / workers
        together = "the workers' first runs (together)" if n_runs > 1 else "the run"
        basis = f"{where}; + {first:.0f} s for {together}"
        if rest:
            basis += (
                f"; + {_plural(rest, 'later run')} of {later:.1f} s shared by "
                f"{_plural(workers, 'worker')}"
            )
        basis += f". Per run: {how}"
    return {
        "runs": n_runs,
        "max_epochs": epochs,
        "per_run_s": first,
        "later_run_s": later,
        "cluster_s": cluster,
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
