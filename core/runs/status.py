"""A run's status as it really is: read from disk, checked against the run's process.

Disk is the source of truth: any number of dashboard sessions, and the command line
(``python -m core.runs``), read the same run folders and so see the same runs.

Status never lies: a run whose ``status.json`` says *starting* or *running* but whose
process is gone (killed, crashed, machine rebooted) is reported, and recorded, as *failed*:
with the exception its process printed last when there is one (a Python traceback in
``process.log``), else with the reason "process ended unexpectedly". Liveness is checked
on the process itself: its ID and start time (so a recycled ID is not mistaken for the
run; a zombie counts as dead), or, where ``/proc`` is missing, the heartbeat file the
training process touches every second. A status written by the run manager just before
it launches the process (*starting*, not owned) is judged by the process named in
``launcher.json``.

Status changes made from outside the run's process (marking it failed, or stopped after a
kill, or starting for a resume) happen under an advisory lock in the run folder, after
the status is read again, so two sessions never undo each other's or the run's work.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs import folder

HEARTBEAT_STALE_S = 10.0
"""Without ``/proc``: a heartbeat older than this means the run's process is gone."""
LAUNCH_GRACE_S = 30.0
"""How long a status written just before launching may wait for its process."""
DEAD_REASON = "process ended unexpectedly"
LOG_TAIL_BYTES = 64_000
"""How much of the end of ``process.log`` is searched for the exception a process died of."""
ACTIVE = ("starting", "running")
RUN_LOCK = ".lock"

_held = threading.local()


def is_alive(pid: int | None, proc_start: int | None, heartbeat: float) -> bool:
    """Whether process ``pid``, started at ``proc_start``, still lives (zombies do not).

    Parameters
    ----------
    pid : int or None
        Process ID; None or 0 is never alive.
    proc_start : int or None
        Its start time as :func:`core.runs.folder.process_start_time` recorded it. With
        ``/proc`` this tells a recycled process ID from the run's process.
    heartbeat : float
        The run's latest sign of life (seconds since the epoch). Where no start time
        was recorded, or there is no ``/proc``, the process must exist and this be
        younger than :data:`HEARTBEAT_STALE_S`.

    Returns
    -------
    bool
    """
    if not pid:
        return False
    if Path("/proc").is_dir():
        started = folder.process_start_time(pid)
        if started is None:
            return False
        if proc_start is not None:
            return started == proc_start
    else:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return time.time() - heartbeat < HEARTBEAT_STALE_S


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the file ``path`` (re-entrant in one thread).

    Parameters
    ----------
    path : pathlib.Path
        Lock file, created if missing. Other threads and processes wait for it; where
        locks are unavailable (no ``fcntl``, or a read-only folder) this does nothing.
    """
    held: set[str] = _held.__dict__.setdefault("paths", set())
    key = str(path)
    if key in held:
        yield
        return
    try:
        import fcntl

        handle = open(path, "a+b")  # noqa: SIM115 - closed in the finally below
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(key)
        yield
    finally:
        held.discard(key)
        handle.close()  # closing releases the lock


# ----------------------------------------------------------------------------- status


def status_file(run_dir: Path) -> dict[str, Any]:
    """``status.json`` as it is on disk, without judging the run's process.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    dict
        The file's fields, plus ``written`` (when the file was written) and
        ``heartbeat`` raised to the heartbeat file's time. No file: *starting*, dated by
        ``config.json``; a file that is not a JSON object: *failed*, with the reason.
    """
    try:
        status = folder.read_json(run_dir / folder.STATUS)
        if not isinstance(status, dict | None):
            raise ValueError(f"it holds a {type(status).__name__}, not an object")
    except ValueError as error:  # not JSON: a hand-edited or foreign file
        return {
            "state": "failed",
            "reason": f"{folder.STATUS} cannot be read ({error}); the run cannot be judged",
        }
    if status is None:  # a folder being set up: judged from its configuration's age
        config = run_dir / folder.CONFIG
        since = config.stat().st_mtime if config.exists() else 0.0
        status = {"state": "starting", "reason": None, "owned": False, "heartbeat": since}
    status["written"] = float(status.get("heartbeat") or 0.0)
    with contextlib.suppress(OSError):
        beat = (run_dir / folder.HEARTBEAT).stat().st_mtime
        status["heartbeat"] = max(status["written"], beat)
    return status


def process_of(run_dir: Path, status: dict[str, Any]) -> tuple[bool | None, int | None, Any]:
    """The process a status names, and whether it lives.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    status : dict
        From :func:`status_file`.

    Returns
    -------
    alive : bool or None
        None while a status written just before launching still waits for its process
        (at most :data:`LAUNCH_GRACE_S`).
    pid : int or None
        The process: the status's owner, or the launched one of ``launcher.json``.
    proc_start : int or None
        Its recorded start time.
    """
    pid, proc_start = status.get("pid"), status.get("proc_start")
    if status.get("owned") or status.get("state") not in ACTIVE:
        return is_alive(pid, proc_start, status.get("heartbeat", 0.0)), pid, proc_start
    # Written by a manager just before launching: the launched process is the run.
    launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
    if launcher.get("time", 0.0) < status["written"]:  # not launched yet
        if time.time() - status["written"] < LAUNCH_GRACE_S:
            return None, None, None
        return False, None, None
    pid, proc_start = launcher.get("pid"), launcher.get("proc_start")
    return is_alive(pid, proc_start, status.get("heartbeat", 0.0)), pid, proc_start


def _identity(status: dict[str, Any]) -> tuple:
    return tuple(status.get(key) for key in ("state", "owned", "pid", "proc_start", "written"))


def _public(status: dict[str, Any], pid: int | None = None, proc_start: Any = None) -> dict:
    """The status as readers see it: the run's process named, bookkeeping dropped."""
    status = {k: v for k, v in status.items() if k != "written"}
    if pid is not None:
        status["pid"], status["proc_start"] = pid, proc_start
    return status


def record_state(run_dir: Path, state: str, reason: str, status: dict[str, Any]) -> dict[str, Any]:
    """Record a state for a run whose process is gone (call it under :func:`locked`).

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    state, reason : str
        The new state and why.
    status : dict
        The status being replaced, returned changed if the folder cannot be written.

    Returns
    -------
    dict
        The new status.
    """
    try:
        return folder.write_status(run_dir, state, reason, owner=False)
    except OSError:
        return _public({**status, "state": state, "reason": reason})


def read_status(run_dir: Path) -> dict[str, Any]:
    """A run's status, with a dead *starting* or *running* run recorded as failed.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    dict
        At least ``state`` (one of :data:`core.runs.folder.STATES`), ``reason`` and
        ``heartbeat`` (the latest sign of life, seconds since the epoch); ``pid`` names
        the run's process while it is active.
    """
    run_dir = Path(run_dir)
    status = status_file(run_dir)
    if status.get("state") not in ACTIVE:
        return _public(status)
    alive, pid, proc_start = process_of(run_dir, status)
    if alive is not False:
        return _public(status, pid, proc_start)
    with locked(run_dir / RUN_LOCK):
        again = status_file(run_dir)  # it may have finished, or been resumed, meanwhile
        if _identity(again) != _identity(status):
            return read_status(run_dir)
        return record_state(run_dir, "failed", crash_reason(run_dir) or DEAD_REASON, again)


def crash_reason(run_dir: Path) -> str | None:
    """The exception the run's last process died of, from the traceback it printed.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder; ``process.log`` is read from where the last launched process began
        writing (``log_offset`` in ``launcher.json``), so an older attempt's traceback
        is never blamed.

    Returns
    -------
    str or None
        ``"DataError: ..."`` (the exception's type without its module, and its message),
        or None when the output ends without a Python traceback.
    """
    launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
    try:
        with open(run_dir / folder.PROCESS_LOG, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(int(launcher.get("log_offset") or 0), size - LOG_TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return None
    header = text.rfind("Traceback (most recent call last):")
    if header < 0:
        return None
    lines = text[header:].splitlines()[1:]
    last = next((line for line in lines if line and not line[0].isspace()), None)
    if last is None:
        return None
    kind, colon, message = last.partition(":")
    return f"{kind.rsplit('.', 1)[-1]}{colon}{message}".strip()


@dataclass
class RunInfo:
    """What the runs table shows about one run.

    Attributes
    ----------
    path : pathlib.Path
        Run folder.
    modality : str
        ``text``, ``audio``, ``face`` or ``fusion`` (``?`` without a configuration).
    status, reason : str
        State (see :func:`read_status`) and why.
    epochs_done : int
        Lines in ``metrics.jsonl``.
    max_epochs : int or None
        Epochs the run was asked for (1 for text).
    best_val_loss : float or None
        Lowest validation loss on record.
    config : dict
        ``config.json``.
    started : float or None
        When the run was created (seconds since the epoch).
    """

    path: Path
    modality: str
    status: str
    reason: str | None
    epochs_done: int
    max_epochs: int | None
    best_val_loss: float | None
    config: dict[str, Any]
    started: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON (``python -m core.runs list --json``)."""
        return {
            "path": str(self.path),
            "name": self.path.name,
            "modality": self.modality,
            "status": self.status,
            "reason": self.reason,
            "epochs_done": self.epochs_done,
            "max_epochs": self.max_epochs,
            "best_val_loss": self.best_val_loss,
            "started": self.started,
        }


def run_info(run_dir: Path) -> RunInfo:
    """Summarise one run folder (configuration, status, epochs, best validation loss).

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    RunInfo
        ``epochs_done`` and ``best_val_loss`` come from ``metrics.jsonl``.
    """
    run_dir = Path(run_dir)
    config = folder.read_json(run_dir / folder.CONFIG) or {}
    status = read_status(run_dir)
    records = folder.read_metrics(run_dir)
    losses = [r["val_loss"] for r in records if r.get("val_loss") is not None]
    max_epochs = config.get("training", {}).get("max_epochs")
    return RunInfo(
        path=run_dir,
        modality=config.get("modality", "?"),
        status=status.get("state", "starting"),
        reason=status.get("reason"),
        epochs_done=len(records),
        max_epochs=1 if config.get("modality") == "text" else max_epochs,
        best_val_loss=min(losses) if losses else None,
        config=config,
        started=status.get("started"),
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (default ``checkpoints/``), newest first.

    Parameters
    ----------
    root : pathlib.Path, optional
        Runs root; a folder in it is a run when it holds ``config.json``.

    Returns
    -------
    list of RunInfo
        Newest first; a folder that vanishes or cannot be read meanwhile is left out.
    """
    root = Path(root or folder.DEFAULT_RUNS_ROOT)
    if not root.is_dir():
        return []
    infos = []
    for path in root.iterdir():
        if not (path / folder.CONFIG).is_file():
            continue
        with contextlib.suppress(OSError, ValueError):
            infos.append(run_info(path))
    infos.sort(key=lambda info: info.started or 0.0, reverse=True)
    return infos
