"""One unit of work on a Dask worker: train (or resume, or just read) one run.

The task is idempotent: a run that finished returns its stored result; a run that was
interrupted (its process killed, or stopped) resumes exactly from its latest checkpoint;
a new run, or one interrupted before it saved an epoch, trains from its configuration
file (a partial run's files are removed first). Training happens in the worker's own
process (:func:`core.train.main`), so a worker that is killed takes its training with
it and leaves no orphan holding the run's training lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from core.runs import folder
from core.runs.state import SUCCEEDED

BUSY_WAIT_S = 600.0
"""How long a task waits for another process still training its run (a dying worker)."""


def run_task(run_dir: str, config_file: str, threads: int, stop_file: str) -> dict[str, Any]:
    """Bring one run to its end and say how it ended.

    Parameters
    ----------
    run_dir : str
        The run folder (inside the experiment's ``runs/``).
    config_file : str
        Its configuration (JSON), used when the run has not started.
    threads : int
        CPU threads for torch (part of the run's configuration).
    stop_file : str
        The experiment's stop request: when it exists, a run that has not started (or
        was stopped) is left as it is.

    Returns
    -------
    dict
        ``run``, ``state``, ``reason``, ``reused`` (a finished run, not trained again),
        ``resumed``, ``train_s`` (inside :func:`core.train.main`: training and
        evaluation), ``task_s`` and ``pid`` (the worker process).
    """
    started = time.monotonic()
    path = Path(run_dir)
    outcome: dict[str, Any] = {"run": path.name, "pid": os.getpid(), "resumed": False}
    state = _settled_state(path)
    if state in SUCCEEDED:
        _ensure_evaluated(path)
        return _finish(outcome, path, started, reused=True, train_s=0.0)
    if Path(stop_file).exists():
        outcome = _finish(outcome, path, started, reused=False, train_s=0.0)
        return {**outcome, "state": "stopped", "reason": "the experiment was asked to stop"}
    import torch

    torch.set_num_threads(int(threads))
    argv = ["--threads", str(int(threads)), "--quiet"]
    if state is not None and _resumable(path) and (path / folder.LATEST).is_file():
        argv = ["--resume", str(path), *argv]
        outcome["resumed"] = True
    else:
        if state is not None:  # nothing to resume from (no epoch saved, or no epochs)
            from core.runs.manager import delete_run

            delete_run(path)
        argv = ["--config", str(config_file), "--run-dir", str(path), *argv]
    from core.train import main

    began = time.monotonic()
    main(argv)
    return _finish(outcome, path, started, reused=False, train_s=time.monotonic() - began)


def _settled_state(path: Path) -> str | None:
    """The run's state once a dead process is recorded as failed; None before it starts.

    Waits while another process (a worker being torn down) still trains the run.
    """
    if not (path / folder.CONFIG).is_file():
        return None
    from core.runs import status as run_status
    from core.runs.supervisor import settle

    deadline = time.monotonic() + BUSY_WAIT_S
    while run_status.judge(path).alive and time.monotonic() < deadline:
        time.sleep(0.5)
    return settle(path).get("state")


def _resumable(path: Path) -> bool:
    """Whether the run trains in epochs (text runs are fitted again from the start)."""
    from core.kinds import get_kind

    return get_kind(folder.read_config(path)).has_epochs


def _ensure_evaluated(path: Path) -> None:
    """Evaluate a finished run whose evaluation is missing (its worker died meanwhile)."""
    from core.kinds.results import read_evaluation

    if read_evaluation(path) is None:
        from core.evaluate import evaluate_finished_run

        evaluate_finished_run(path)


def _finish(
    outcome: dict[str, Any],
    path: Path,
    started: float,
    reused: bool,
    train_s: float,
) -> dict[str, Any]:
    status = folder.read_json(path / folder.STATUS) or {}
    outcome.update(
        state=status.get("state", "failed"),
        reason=status.get("reason"),
        reused=reused,
        train_s=train_s,
        task_s=time.monotonic() - started,
    )
    return outcome
