"""The process behind a run: who it is, whether it lives, and how to end it.

A process is named by its ID and its create time (as :mod:`psutil` reports it), so a
recycled process ID is never mistaken for the run; a zombie counts as dead.
"""

from __future__ import annotations

import contextlib
import time

import psutil

SAME_START_S = 0.005
"""Two create times closer than this name the same process (they come from clock ticks)."""
KILL_WAIT_S = 10.0
"""How long a killed process may take to end."""


def start_time(pid: int | None) -> float | None:
    """The create time of a live, non-zombie process (seconds since the epoch), else None.

    Parameters
    ----------
    pid : int or None
        Process ID; None or 0 is never alive.

    Returns
    -------
    float or None
    """
    if not pid:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def is_alive(pid: int | None, proc_start: float | None) -> bool:
    """Whether process ``pid``, created at ``proc_start``, still lives.

    Parameters
    ----------
    pid : int or None
        Process ID.
    proc_start : float or None
        Its create time as :func:`start_time` recorded it; None trusts the ID alone.

    Returns
    -------
    bool
    """
    started = start_time(pid)
    if started is None:
        return False
    return proc_start is None or abs(started - float(proc_start)) < SAME_START_S


def end_process(pid: int, proc_start: float | None, timeout_s: float = 10.0) -> str | None:
    """Terminate a process and its children, then kill what is left after ``timeout_s``.

    Parameters
    ----------
    pid : int
        Process ID.
    proc_start : float or None
        Its recorded create time; a different process under the same ID is left alone.
    timeout_s : float, default 10.0
        Seconds between SIGTERM and SIGKILL.

    Returns
    -------
    str or None
        ``"SIGTERM"`` or ``"SIGKILL"``, the last signal that had to be sent; None when
        the process was not alive.
    """
    if not is_alive(pid, proc_start):
        return None
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    sent = signal_all(processes, "terminate")
    if not _wait_gone(processes, timeout_s):
        sent = signal_all(processes, "kill")
        _wait_gone(processes, KILL_WAIT_S)
    return sent


def signal_all(processes: list[psutil.Process], action: str) -> str:
    """Send ``terminate`` (SIGTERM) or ``kill`` (SIGKILL) to each process that still lives."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            getattr(process, action)()
    return "SIGTERM" if action == "terminate" else "SIGKILL"


def _wait_gone(processes: list[psutil.Process], timeout_s: float, poll_s: float = 0.02) -> bool:
    """Wait until every process has ended or is a zombie; True when they all did.

    Polled rather than :func:`psutil.wait_procs`, which reaps children of this process
    and so would take their exit status from whoever started them.
    """
    deadline = time.monotonic() + timeout_s
    while any(process.is_running() and start_time(process.pid) for process in processes):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True
