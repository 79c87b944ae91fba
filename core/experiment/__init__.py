"""Experiments: seeds, participant-grouped folds and sweeps, on Optuna and Dask.

An experiment trains every configuration of a search (Optuna: grid, random or TPE)
once per seed and fold, one ordinary run folder each, on Dask workers (a loopback
``LocalCluster`` by default, or an existing cluster), and reports each configuration's
participant-level objective over seeds with bootstrap intervals. The command line is
``python -m core.experiment``; this module is the API the dashboard calls. Heavy
modules (optuna, dask, torch) are imported only when needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.experiment.spec import ExperimentSpec, SpecError, load_spec, spec_from_dict

__all__ = [
    "ExperimentSpec",
    "SpecError",
    "experiment_status",
    "list_experiments",
    "load_spec",
    "promote_experiment",
    "resume_experiment",
    "spec_from_dict",
    "start_experiment",
    "stop_experiment",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_experiment(
    spec: ExperimentSpec,
    *,
    data: str | Path | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> Path:
    """Write an experiment's folder and start its driver in the background.

    The driver is a detached process (``python -m core.experiment resume DIR``) that
    outlives the caller; its output goes to ``driver.log`` in the folder.

    Parameters
    ----------
    spec : ExperimentSpec
        From :func:`load_spec` or :func:`spec_from_dict`.
    data : str or pathlib.Path, optional
        Corpus root (default: the bundled sample).
    out : str or pathlib.Path, optional
        The experiment folder (default ``<runs root>/experiments/NAME``).
    workers : int, optional
        Local Dask workers (default one per core).
    scheduler : str, optional
        An existing Dask scheduler's address.

    Returns
    -------
    pathlib.Path
        The experiment folder.

    Raises
    ------
    core.errors.InvalidRequest
        The folder holds another experiment.
    """
    from core.experiment.folder import create

    path = create(spec, data=data, out=out, workers=workers, scheduler=scheduler)
    extra = (["--workers", str(workers)] if workers else []) + (
        ["--scheduler", scheduler] if scheduler else []
    )
    _spawn(["resume", str(path), *extra, *_requested_now()], path)
    return path


def experiment_status(exp_dir: str | Path) -> dict[str, Any]:
    """What ``status DIR --json`` prints (see :func:`core.experiment.status.experiment_status`)."""
    from core.experiment.status import experiment_status as status

    return status(exp_dir)


def stop_experiment(exp_dir: str | Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """Ask an experiment to stop and wait for its driver (runs checkpoint and exit).

    Returns
    -------
    dict
        The experiment's status afterwards.
    """
    from core.experiment.control import stop

    stop(Path(exp_dir), timeout_s)
    return experiment_status(exp_dir)


def resume_experiment(exp_dir: str | Path) -> Path:
    """Carry on a stopped or interrupted experiment in the background; return its folder."""
    from core.experiment.status import experiment_status as status

    status(exp_dir)  # raises when the folder holds no experiment
    _spawn(["resume", str(exp_dir), *_requested_now()], Path(exp_dir))
    return Path(exp_dir)


def promote_experiment(exp_dir: str | Path) -> Path:
    """Retrain the best configuration on the official split, per seed, in the background."""
    from core.experiment.status import experiment_status as status

    if status(exp_dir)["best"] is None:
        from core.errors import InvalidRequest

        raise InvalidRequest(f"{exp_dir} has no complete configuration to promote yet")
    _spawn(["promote", str(exp_dir)], Path(exp_dir))
    return Path(exp_dir)


def list_experiments(runs_root: str | Path | None = None) -> list[dict[str, Any]]:
    """The experiments under ``<runs_root>/experiments`` (name, path, state, n_runs, done)."""
    from core.experiment.status import list_experiments as listed

    return listed(runs_root)


def _requested_now() -> list[str]:
    """The driver's ``--requested-at``: a stop pressed from now on is not lost."""
    return ["--requested-at", repr(time.time())]


def _spawn(args: list[str], exp_dir: Path) -> int:
    """Start ``python -m core.experiment ARGS`` detached, its output in ``driver.log``."""
    from core.experiment.folder import DRIVER_LOG

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(exp_dir / DRIVER_LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.experiment", *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid
