"""A run's status as it really is: read from disk, checked against the run's process.

Disk is the source of truth: any number of dashboard sessions, and the command line
(``python -m core.runs``), read the same run folders and so see the same runs.

Status never lies: a run whose ``status.json`` says *starting* or *running* but whose
process is gone (killed, crashed, machine rebooted) is reported as *failed*, with the
exception its process printed last when there is one (a Python traceback in
``process.log``), else with the reason "process ended unexpectedly". Liveness is checked
on the process itself, by its ID and create time (:mod:`core.runs.process`). A status
written by the run manager just before it launches the process (*starting*, not owned)
is judged by the process named in ``launcher.json``.

Reading never writes: :func:`read_status` and :func:`list_runs` only judge. Recording a
dead run as failed is the supervisor's job (:func:`core.runs.manager.settle`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs import folder
from core.runs.process import is_alive
from core.runs.schema import RunFileError, check_evaluation, check_status
from core.runs.state import ACTIVE, RunState

LAUNCH_GRACE_S = 30.0
"""How long a status written just before launching may wait for its process."""
DEAD_REASON = "process ended unexpectedly"
UNREADABLE = "unreadable"
"""The status of a run folder whose files cannot be read (:func:`run_info` says why)."""
LOG_TAIL_BYTES = 64_000
"""How much of the end of ``process.log`` is searched for the exception a process died of."""


def status_file(run_dir: Path) -> dict[str, Any]:
    """``status.json`` as it is on disk, without judging the run's process.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    dict
        The file's fields. No file: *starting*, dated by ``config.json``; a file that
        cannot be read (not JSON, or a field of the wrong type,
        :func:`core.runs.schema.check_status`): *failed*, with the reason naming the file
        also under ``unreadable``. Such a run can still be resumed from its checkpoint,
        which writes a new status.
    """
    try:
        status = folder.read_run_file(run_dir / folder.STATUS)
        if status is not None:
            check_status(status)
    except RunFileError as error:  # a hand-edited, cut short or foreign file
        reason = f"{error}; resume the run to continue from its last checkpoint"
        return {"state": RunState.FAILED, "reason": reason, "unreadable": str(error)}
    if status is None:  # a folder being set up: judged from its configuration's age
        config = run_dir / folder.CONFIG
        since = config.stat().st_mtime if config.exists() else 0.0
        status = {"state": RunState.STARTING, "reason": None, "owned": False, "heartbeat": since}
    return status


@dataclass(frozen=True)
class Judgement:
    """A run's status on disk, judged against the process it names.

    Attributes
    ----------
    status : dict
        From :func:`status_file`.
    pid : int or None
        The run's process: the status's owner, or the launched one of ``launcher.json``.
    proc_start : float or None
        Its recorded create time.
    alive : bool
        Whether that process lives.
    launching : bool
        The status was written just before launching and its process is not known yet
        (for at most :data:`LAUNCH_GRACE_S`).
    """

    status: dict[str, Any]
    pid: int | None
    proc_start: float | None
    alive: bool
    launching: bool = False

    @property
    def dead(self) -> bool:
        """The status says the run is active, but no process works on it."""
        return self.status.get("state") in ACTIVE and not self.alive and not self.launching

    @property
    def gone(self) -> bool:
        """No process works, or is about to work, on the run (whatever its status says)."""
        return not self.alive and not self.launching


def judge(run_dir: Path, status: dict[str, Any] | None = None) -> Judgement:
    """Judge a run's status against its process.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    status : dict, optional
        From :func:`status_file` (read now when not given).

    Returns
    -------
    Judgement
    """
    run_dir = Path(run_dir)
    status = status_file(run_dir) if status is None else status
    pid, proc_start = status.get("pid"), status.get("proc_start")
    if status.get("owned") or status.get("state") not in ACTIVE:
        return Judgement(status, pid, proc_start, is_alive(pid, proc_start))
    # Written by a manager just before launching: the launched process is the run.
    launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
    written = float(status.get("heartbeat") or 0.0)
    if launcher.get("time", 0.0) < written:  # not launched yet
        waiting = time.time() - written < LAUNCH_GRACE_S
        return Judgement(status, None, None, alive=False, launching=waiting)
    pid, proc_start = launcher.get("pid"), launcher.get("proc_start")
    return Judgement(status, pid, proc_start, is_alive(pid, proc_start))


def read_status(run_dir: Path) -> dict[str, Any]:
    """A run's status, a dead *starting* or *running* run reported as failed (not written).

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    dict
        At least ``state`` (a :class:`core.runs.state.RunState` value), ``reason`` and
        ``heartbeat`` (when the status was written, seconds since the epoch); ``pid``
        names the run's process while it is active.
    """
    judged = judge(run_dir)
    status = dict(judged.status)
    if judged.pid is not None:
        status["pid"], status["proc_start"] = judged.pid, judged.proc_start
    if judged.dead:
        status["state"] = RunState.FAILED
        status["reason"] = crash_reason(Path(run_dir)) or DEAD_REASON
    return status


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
        Epochs the run was asked for (1 for a run fitted in one go).
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
            "name": folder.run_name(self.path),
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

    A configuration without ``training.max_epochs`` (a run fitted in one go) counts one
    epoch.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.

    Returns
    -------
    RunInfo
        ``epochs_done`` and ``best_val_loss`` come from ``metrics.jsonl``. A folder
        whose ``config.json``, ``status.json``, ``metrics.jsonl`` or ``evaluation.json``
        cannot be read (:mod:`core.runs.schema`) is :data:`UNREADABLE`, with the reason
        naming the file and field, modality ``?`` and an empty configuration, so that
        nothing picks it to score or resume.
    """
    run_dir = Path(run_dir)
    try:
        config = folder.read_config(run_dir)
        status = read_status(run_dir)
        if "unreadable" in status:
            return unreadable_info(run_dir, status["reason"])
        return _checked_info(run_dir, config, status)
    except RunFileError as error:
        return unreadable_info(run_dir, str(error))


def unreadable_info(run_dir: Path, reason: str) -> RunInfo:
    """The :class:`RunInfo` of a folder that cannot be read, and why."""
    return RunInfo(Path(run_dir), "?", UNREADABLE, reason, 0, None, None, {})


def _checked_info(run_dir: Path, config: dict[str, Any], status: dict[str, Any]) -> RunInfo:
    """:func:`run_info` once its metrics and evaluation pass their checks, else raise."""
    reader = folder.MetricsReader(run_dir)
    records = reader.poll()
    if reader.problems:
        raise RunFileError(*reader.problems[0].split(": ", 1))
    evaluation = folder.read_run_file(run_dir / folder.EVALUATION)
    if evaluation is not None:
        check_evaluation(evaluation)
    losses = [r["val_loss"] for r in records if r.get("val_loss") is not None]
    max_epochs = config.get("training", {}).get("max_epochs", 1)
    return RunInfo(
        path=run_dir,
        modality=config["modality"],
        status=status.get("state", RunState.STARTING),
        reason=status.get("reason"),
        epochs_done=len(records),
        max_epochs=max_epochs,
        best_val_loss=min(losses) if losses else None,
        config=config,
        started=status.get("started"),
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (default :func:`core.runs.folder.runs_root`), newest first.

    Parameters
    ----------
    root : pathlib.Path, optional
        Runs root; a folder in it is a run when it holds ``config.json``, and so is
        each run of its experiments (:func:`core.runs.folder.run_folders`).

    Returns
    -------
    list of RunInfo
        Newest first, folders that cannot be read (:data:`UNREADABLE`) last; a folder
        that vanishes meanwhile is left out.
    """
    root = Path(root or folder.runs_root())
    infos = []
    for path in folder.run_folders(root):
        try:
            infos.append(run_info(path))
        except OSError as error:
            if (path / folder.CONFIG).is_file():  # still there: unreadable, not vanished
                infos.append(unreadable_info(path, f"{type(error).__name__}: {error}"))
    infos.sort(key=lambda info: info.started or 0.0, reverse=True)
    return infos
