"""The supervisor's part of the run manager: record dead runs, stop live ones.

Readers only judge a run (:mod:`core.runs.status`); what is written on a run's behalf
from outside its process happens here, under a file lock in the run folder
(:mod:`filelock`), after the run is judged again, so two sessions never undo each
other's or the run's work: :func:`settle` records a run whose process ended without
saying so as *failed*, :func:`stop_run` asks a run to stop and ends its process if it
must.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from core.errors import Refused
from core.runs import folder
from core.runs import status as run_status
from core.runs.process import end_process
from core.runs.state import ACTIVE, RunState
from core.runs.status import DEAD_REASON, crash_reason, read_status

RUN_LOCK = folder.RUN_LOCK
FOLDER_DELETED = "the run folder was deleted"
"""The state of a run whose folder is gone: nothing is written for it (and nothing recreated)."""


def lock(path: Path) -> FileLock:
    """An exclusive lock on the file ``path`` (created if missing) for a ``with`` block."""
    return FileLock(path)


def settle(run_dir: Path) -> dict[str, Any]:
    """Record a run whose status is active but whose process is gone as *failed*.

    The supervisor's one write on a reader's behalf: the reason is the exception the
    process printed last, else :data:`DEAD_REASON`. The run is judged again under its
    lock, so a run that finished, or was resumed, meanwhile keeps its own status.

    A run folder deleted from outside is left deleted: nothing is written.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    dict
        The status (see :func:`read_status`).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():  # deleted from outside: a lock or a status would recreate it
        return {"state": RunState.FAILED.value, "reason": FOLDER_DELETED}
    if run_status.judge(run_dir).dead:
        with lock(run_dir / RUN_LOCK):
            if run_status.judge(run_dir).dead:
                reason = crash_reason(run_dir) or DEAD_REASON
                folder.write_status(run_dir, RunState.FAILED, reason, owner=False)
    return read_status(run_dir)


def request_stop(run_dir: Path) -> None:
    """Ask a run to stop: it finishes the current batch, keeps its last epoch, and exits.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder; ``stop.request`` is written there and the call returns at once.
    """
    folder.write_json_atomic(Path(run_dir) / folder.STOP_REQUEST, {"time": time.time()})


def _wait_for_exit(run_dir: Path, wait_s: float, poll_s: float) -> bool:
    """Poll until no process works on the run or ``wait_s`` passed; True when none does."""
    deadline = time.monotonic() + wait_s
    while True:
        if run_status.judge(run_dir).gone:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def stop_run(run_dir: Path, timeout_s: float = 30.0, poll_s: float = 0.1) -> dict[str, Any]:
    """Stop a run and wait for its process to end: request, then SIGTERM, then SIGKILL.

    The run first gets ``timeout_s`` to stop by itself at a batch boundary (its last
    complete epoch is already saved), then SIGTERM (which the trainer treats as the same
    request) and at most 10 s more, then SIGKILL (:func:`core.runs.process.end_process`).
    A run that had to be signalled is recorded as *stopped*, with the signal in the
    reason: its checkpoints are intact. A run found dead is recorded as failed.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    timeout_s : float, default 30.0
        Seconds to wait for the cooperative stop (0 signals at once).
    poll_s : float, default 0.1
        Seconds between checks.

    Returns
    -------
    dict
        The final status (see :func:`read_status`).
    """
    run_dir = Path(run_dir)
    if run_status.judge(run_dir).gone:  # finished, or dead (then recorded as such)
        return settle(run_dir)
    request_stop(run_dir)
    if not _wait_for_exit(run_dir, timeout_s, poll_s):
        judged = run_status.judge(run_dir)
        sent = judged.pid and end_process(judged.pid, judged.proc_start, min(timeout_s, 10.0))
        if sent:
            _record_kill(run_dir, f"killed with {sent}: it did not stop within {timeout_s:g} s")
    return settle(run_dir)


def _record_kill(run_dir: Path, reason: str) -> None:
    """Record a run whose process this manager had to signal as *stopped*."""
    if not run_dir.is_dir():  # deleted meanwhile: never recreate it for its status
        return
    with lock(run_dir / RUN_LOCK):
        judged = run_status.judge(run_dir)
        state, why = judged.status.get("state"), judged.status.get("reason")
        # Active, or marked dead by its supervisor after our signal: it was our kill.
        if judged.gone and (state in ACTIVE or why == DEAD_REASON):
            folder.write_status(run_dir, RunState.STOPPED, reason, owner=False)


class RunBusy(Refused):
    """Another process is training this run right now (exit status 2 on a command line)."""


def _holder(run_dir: Path) -> str:
    """Who trains the run: `` (process 4242)`` when its status names a live one, else ""."""
    try:
        judged = run_status.judge(run_dir)
    except (OSError, ValueError):  # a status cut short: the lock still says it is busy
        return ""
    return f" (process {judged.pid})" if judged.alive and judged.pid else ""


def take_training_lock(run_dir: Path) -> FileLock:
    """Take a run's training lock, held for as long as this process trains the run.

    Two processes never write one run: a second ``core.train --resume`` of a run being
    trained (from the command line or the dashboard) is refused at once.

    Parameters
    ----------
    run_dir : pathlib.Path
        The run folder.

    Returns
    -------
    filelock.FileLock
        The acquired lock; release it when training ends (the operating system releases
        it when the process dies).

    Raises
    ------
    RunBusy
        Another process holds it.
    """
    lock = FileLock(Path(run_dir) / folder.TRAINING_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunBusy(
            f"{run_dir} is busy: another process is training it right now"
            f"{_holder(Path(run_dir))}; wait for it to end, or stop it first "
            f"(python -m core.runs stop {run_dir})"
        ) from None
    return lock


def check_not_training(run_dir: Path) -> None:
    """Refuse a run that another process is training, before anything is done to it.

    Its training lock is taken and released at once; a process that trains the run
    holds it for as long as it trains (:func:`take_training_lock`).

    Parameters
    ----------
    run_dir : pathlib.Path
        The run folder.

    Raises
    ------
    RunBusy
        Another process holds the run's training lock; the message names it when the
        run's status does.
    """
    take_training_lock(run_dir).release()
