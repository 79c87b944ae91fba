"""Where a run stands: epoch x of N, elapsed time, ETA, early stopping, best loss.

Plain computation over a run's status, configuration and epoch records, for the Train
page's live view (which only draws what this returns).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs import folder
from core.runs.state import ACTIVE, FINISHED, RunState

ETA_EPOCHS = 5
"""The ETA assumes the remaining epochs take as long as this many last ones."""


@dataclass(frozen=True)
class Progress:
    """Where a run stands, from its status, configuration and epoch records.

    Attributes
    ----------
    epoch, total : int
        Epochs finished, and the total planned (at least ``epoch``).
    elapsed_s, eta_s : float or None
        The run's whole training time across resumes (:func:`training_time`), and the
        estimate of the seconds left while it runs; None when unknown.
    without_improvement : int
        The early-stopping counter after the last epoch.
    patience : int or None
        The run's early-stopping patience.
    best_val_loss : float or None
        The lowest validation loss so far, reached at ``best_epoch``.
    best_epoch : int or None
        The epoch of ``best_val_loss``.
    """

    epoch: int
    total: int
    elapsed_s: float | None
    eta_s: float | None
    without_improvement: int
    patience: int | None
    best_val_loss: float | None
    best_epoch: int | None


def run_progress(
    records: list[dict[str, Any]],
    status: dict[str, Any],
    config: dict[str, Any],
    launched: float | None,
    now: float,
) -> Progress:
    """Epoch x of N, elapsed time, ETA and early-stopping state of a run.

    Parameters
    ----------
    records : list of dict
        The run's epoch records (``metrics.jsonl``).
    status : dict
        Its status (``state``, ``started``, ``heartbeat``, ``max_epochs``).
    config : dict
        Its configuration (``training.max_epochs`` and ``training.patience``).
    launched : float or None
        When the current process started. Unused: the elapsed time comes from the
        epoch records (:func:`training_time`); kept for callers that pass it.
    now : float
        The current time (``time.time()``).

    Returns
    -------
    Progress
        The ETA assumes the remaining epochs take as long as the last five; early
        stopping may end the run sooner.
    """
    del launched  # the elapsed time no longer depends on which process is current
    training = config.get("training", {})
    total = int(training.get("max_epochs") or status.get("max_epochs") or 1)
    epoch = len(records)
    running = status.get("state") in ACTIVE
    eta = None
    if running and records:
        recent = [r.get("elapsed_s") or 0.0 for r in records[-ETA_EPOCHS:]]
        eta = sum(recent) / len(recent) * max(total - epoch, 0)
    losses = [(r["val_loss"], r["epoch"]) for r in records if r.get("val_loss") is not None]
    best = min(losses) if losses else (None, None)
    return Progress(
        epoch=epoch,
        total=max(total, epoch),
        elapsed_s=training_time(records, status, now),
        eta_s=eta,
        without_improvement=int(records[-1].get("epochs_without_improvement") or 0)
        if records
        else 0,
        patience=training.get("patience"),
        best_val_loss=best[0],
        best_epoch=best[1],
    )


def training_time(
    records: list[dict[str, Any]], status: dict[str, Any], now: float
) -> float | None:
    """The run's whole training time, across every process that trained it.

    Each epoch record holds the seconds its epoch took (``elapsed_s``); the records are
    part of the checkpoint's history, so a resumed run keeps those of the epochs before
    its resume, exactly. While a process trains, the epoch under way counts too: the time
    since its status was last written (the end of its last epoch, or the start of its
    training).

    Parameters
    ----------
    records : list of dict
        The run's epoch records (``metrics.jsonl``).
    status : dict
        Its status (``state``, ``heartbeat``).
    now : float
        The current time (``time.time()``).

    Returns
    -------
    float or None
        Seconds; None for a run that has no finished epoch and is not training (one still
        starting: reading its corpus is not training).
    """
    done = sum(float(r.get("elapsed_s") or 0.0) for r in records)
    heartbeat = status.get("heartbeat")
    if status.get("state") == RunState.RUNNING and heartbeat is not None:
        return done + max(0.0, now - float(heartbeat))
    return done if records else None


def stop_requested_s(run_dir: Path, now: float | None = None) -> float | None:
    """Seconds since someone asked the run to stop; None when nobody has."""
    try:
        asked = (run_dir / folder.STOP_REQUEST).stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - asked


def starting_phase(status: dict[str, Any], launcher: dict[str, Any]) -> str:
    """What a *starting* run is doing, judged from its status and ``launcher.json``.

    A run is launched by the manager (its status says *starting*, written before the
    process exists), then its process imports Python and PyTorch, takes the run over
    (its own status) and reads the corpus; it is *running* from its first epoch on.

    Parameters
    ----------
    status : dict
        The run's status (``owned``, ``heartbeat``, and ``phase`` if its process wrote
        one).
    launcher : dict
        ``launcher.json`` (``time``: when the manager launched the current process).

    Returns
    -------
    str
        For example ``"reading the corpus and preparing the data"``.
    """
    if status.get("phase"):
        return str(status["phase"])
    if status.get("owned"):
        return "reading the corpus and preparing the data"
    if launcher.get("time", 0.0) >= float(status.get("heartbeat") or 0.0) > 0.0:
        return "starting Python and loading PyTorch"
    return "launching its process"


def launched_at(status: dict[str, Any], launcher: dict[str, Any]) -> float | None:
    """When the process now starting the run was launched; None when not known."""
    launched = launcher.get("time")
    if launched is None:
        return None
    if status.get("owned"):  # the process has taken the run over: is it the launched one?
        return float(launched) if status.get("pid") == launcher.get("pid") else None
    return float(launched) if launched >= float(status.get("heartbeat") or 0.0) else None


def state_note(
    status: dict[str, Any], launcher: dict[str, Any] | None = None, now: float | None = None
) -> tuple[str, str] | None:
    """What to say about a run's state: ``(level, text)``, level one of error/success/caption.

    Parameters
    ----------
    status : dict
        The run's status.
    launcher : dict, optional
        Its ``launcher.json``, which tells what a starting run is doing and since when.
    now : float, optional
        The current time (default ``time.time()``).

    Returns
    -------
    tuple of str or None
        ``("error", "The run failed: …")`` for a failed run, ``("success", …)`` for one
        that ended otherwise, ``("caption", "Starting, 12 s so far: reading the corpus
        …")`` while it starts; None while it runs.
    """
    state = status.get("state", RunState.STARTING)
    reason = status.get("reason")
    if state == RunState.FAILED:
        return "error", f"The run failed: {reason or 'no reason was recorded'}"
    if state in FINISHED:
        return "success", f"{state.capitalize()}: {reason or 'done'}"
    if state == RunState.STARTING:
        launcher = launcher or {}
        since = launched_at(status, launcher)
        now = time.time() if now is None else now
        so_far = f", {max(0, round(now - since))} s so far" if since is not None else ""
        return "caption", f"Starting{so_far}: {starting_phase(status, launcher)}."
    return None
