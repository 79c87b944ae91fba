"""Start, stop, resume and delete training runs as separate OS processes.

Streamlit reruns a page script on every interaction and does not support work in
background threads, so each run is its own process (``python -m core.train``), in its own
process group and session, writing everything to its run folder: page reloads, closed
tabs and a restarted dashboard lose nothing, and a run outlives the dashboard that
started it. What a run's status is, and whether its process lives, is
:mod:`core.runs.status`; its names are re-exported here.

The manager is the runs' supervisor (its writes on a run's behalf are
:mod:`core.runs.supervisor`, re-exported here). It reaps the processes it starts (a
waiting thread each), so they never linger as zombies, and records a run whose process
ended without saying so as *failed* (:func:`settle`); so do stop, resume and delete.
Readers only judge. Starting or resuming a run takes a lock on the runs root, so that two
sessions cannot both start "the one GPU run" or both count the same free cores.

CPU threads: one core is left to the dashboard and the browser, and each new run gets
``(cores - 1) // (active runs + 1)`` threads, at least one (``OMP_NUM_THREADS`` and
``torch.set_num_threads``). The count is fixed for the life of the run's process, so that
its results do not depend on what else runs; runs already going keep theirs. Spinning
OpenMP threads on cores that something else wants are what hurts (2 threads on 2 busy
cores: epochs up to 30 times slower), and our small recurrent models gain little from
more threads (1 or 2 threads: the same epoch time for the default audio run).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core import hparams
from core.config import make_config
from core.errors import InvalidRequest
from core.runs import folder
from core.runs import status as run_status
from core.runs.folder import DEFAULT_RUNS_ROOT, read_config
from core.runs.process import start_time
from core.runs.state import ACTIVE, RunState
from core.runs.status import DEAD_REASON, RunInfo, list_runs, read_status, run_info
from core.runs.supervisor import (
    RUN_LOCK,
    check_not_training,
    lock,
    request_stop,
    settle,
    stop_run,
    take_training_lock,
)

__all__ = [
    "ACTIVE",
    "DEAD_REASON",
    "RunInfo",
    "delete_run",
    "list_runs",
    "read_status",
    "request_stop",
    "resume_run",
    "run_info",
    "settle",
    "start_run",
    "stop_run",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT_LOCK = ".runs.lock"
# ----------------------------------------------------------------------------- processes


def _cpu_count() -> int:
    """CPU cores this process may use (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------- launching


def threads_for_new_run(root: Path, exclude: Path | None = None) -> int:
    """CPU threads for a new run: the active runs share the cores but one.

    The one policy for every run, started by this manager or from the command line
    (``python -m core.train`` without ``--threads``).

    Parameters
    ----------
    root : pathlib.Path
        The runs root whose active runs share the cores.
    exclude : pathlib.Path, optional
        The run being started, when its status already says *starting*.

    Returns
    -------
    int
        ``(cores - 1) // (active runs + 1)``, at least 1.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    active = sum(
        info.status in ACTIVE and Path(info.path).resolve() != skip for info in list_runs(root)
    )
    return max(1, (_cpu_count() - 1) // (active + 1))


def _uses_gpu(config: dict[str, Any]) -> bool:
    return config.get("training", {}).get("device") in ("cuda", "auto")


def _gpu_busy(root: Path) -> bool:
    """Whether an active run under ``root`` is using the GPU (one GPU run at a time)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return False
    except ImportError:
        return False
    return any(info.status in ACTIVE and _uses_gpu(info.config) for info in list_runs(root))


def _spawn(args: list[str], run_dir: Path, threads: int) -> subprocess.Popen:
    """Launch ``python -m core.train ARGS`` for a run, record it, and reap it when it ends."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "core.train", *args, "--quiet", "--threads", str(threads)]
    command.append("--managed")  # this manager has prepared the run folder for it
    try:
        with open(run_dir / folder.PROCESS_LOG, "ab") as log:
            log_offset = log.tell()  # where this process's output starts
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: signals reach it and nothing else
            )
    except OSError as error:
        folder.write_status(
            run_dir, RunState.FAILED, f"could not start Python: {error}", owner=False
        )
        raise
    folder.write_json_atomic(
        run_dir / folder.LAUNCHER,
        {
            "pid": process.pid,
            "proc_start": start_time(process.pid),
            "time": time.time(),
            "threads": threads,
            "command": command,
            "log_offset": log_offset,
        },
    )
    # Reap it the moment it ends, so it never lingers as a zombie of this process.
    threading.Thread(
        target=_supervise, args=(process, run_dir), name=f"reap-{process.pid}", daemon=True
    ).start()
    return process


def _supervise(process: subprocess.Popen, run_dir: Path) -> None:
    """Wait for a launched process to end, then record its run failed if it died silently."""
    process.wait()
    with contextlib.suppress(OSError, ValueError):
        settle(run_dir)


def start_run(
    modality: str,
    values: dict[str, Any] | None = None,
    data_root: str | Path | None = None,
    seed: int = 0,
    root: Path | None = None,
    sources: dict[str, str | None] | None = None,
    threads: int | None = None,
) -> Path:
    """Start a run in a new process and return its folder at once.

    Parameters
    ----------
    modality : {"text", "audio", "face", "fusion"}
        What to train.
    values : dict, optional
        Hyper-parameters by name (see :mod:`core.hparams`).
    data_root : str or pathlib.Path, optional
        Corpus root; None for the bundled sample.
    seed : int
        The run's seed.
    root : pathlib.Path, optional
        Runs root (default ``checkpoints/``).
    sources : dict, optional
        Fusion only: ``{"audio": run_dir, "face": run_dir, "text": run_dir}``.
    threads : int, optional
        CPU threads for the run; by default the cores are shared with the active runs.

    Returns
    -------
    pathlib.Path
        The new run folder; its status is *starting*.

    Raises
    ------
    ValueError
        Invalid hyper-parameters, or a CUDA run while another GPU run is active (an
        ``auto`` run then goes to the CPU instead).
    """
    root = Path(root or DEFAULT_RUNS_ROOT)
    config = make_config(modality, data_root, values, seed, sources)  # validates first
    root.mkdir(parents=True, exist_ok=True)
    with lock(root / ROOT_LOCK):
        if _uses_gpu(config) and _gpu_busy(root):
            if config["training"]["device"] == "cuda":
                raise InvalidRequest("a GPU run is already running; wait for it or choose the CPU")
            config["training"]["device"] = "cpu"
        threads = threads or threads_for_new_run(root)
        run_dir = folder.new_run_dir(root, modality)
        folder.write_config(run_dir, config)
        folder.write_status(run_dir, RunState.STARTING, None, owner=False, modality=modality)
        args = ["--run-dir", str(run_dir), "--config", str(run_dir / folder.CONFIG)]
        _spawn([*args, "--runs-root", str(root)], run_dir, threads)  # fusion's sources too
    return run_dir


def _check_resumable(run_dir: Path) -> None:
    """Make sure the latest checkpoint loads; otherwise mark the run failed and raise.

    A run with no finished epoch (no metrics) and no latest checkpoint simply starts
    again from epoch 1.
    """
    latest = run_dir / folder.LATEST
    if not latest.exists() and not folder.read_metrics(run_dir):
        return
    from core.training.checkpoint import CheckpointError, load_checkpoint

    try:
        load_checkpoint(latest, map_location="cpu")
    except CheckpointError as error:
        reason = f"{type(error).__name__}: {error}"
        folder.write_status(run_dir, RunState.FAILED, reason, owner=False)
        raise


def resume_run(
    run_dir: Path,
    max_epochs: int | None = None,
    threads: int | None = None,
    more_epochs: int | None = None,
    patience: int | None = None,
    allow_changed_data: bool = False,
) -> Path:
    """Continue a stopped, failed or finished run in a new process.

    An early-stopped run continues with its early-stopping counter reset, so it trains
    the epochs asked for unless it again goes ``patience`` epochs without improving.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    max_epochs : int, optional
        New total number of epochs (default: the run's own), at most the epoch cap
        beyond the epochs done.
    threads : int, optional
        CPU threads; by default the cores are shared with the active runs.
    more_epochs : int, optional
        Instead of ``max_epochs``: epochs to train beyond those done (1 to the cap).
    patience : int, optional
        A new early-stopping patience.
    allow_changed_data : bool, default False
        Resume even when the corpus (or a fusion's source run) changed since the run's
        last checkpoint; otherwise the training process refuses, and says what changed.

    Returns
    -------
    pathlib.Path
        ``run_dir``; its status is *starting*.

    Raises
    ------
    ValueError
        The run is still active, was fitted in one go (no epochs), an epoch count or the
        patience is out of range, or it wants the GPU while another GPU run is active.
    core.runs.supervisor.RunBusy
        Another process is training the run (it holds its training lock); a
        ``ValueError`` too.
    FileNotFoundError
        ``run_dir`` is not a run folder.
    core.training.checkpoint.CheckpointError
        Its latest checkpoint is missing or unreadable; the run is marked failed with
        this reason (``best_model.pth`` is left as it is).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if "max_epochs" not in config.get("training", {}):  # fitted in one go: no epochs
        kind = config.get("modality", "such")
        raise InvalidRequest(f"{kind} runs have no epochs to resume; start a new {kind} run")
    args = ["--resume", str(run_dir)]
    done = len(folder.read_metrics(run_dir))
    planned = int(config.get("training", {}).get("max_epochs") or done)
    total = hparams.resume_epochs(done, planned, max_epochs, more_epochs)  # validates
    if total != planned:
        args += ["--max-epochs", str(total)]
    if patience is not None:
        args += ["--patience", str(hparams.by_name("patience").parse(patience))]
    if allow_changed_data:
        args.append("--allow-changed-data")
    root = run_dir.parent
    with lock(root / ROOT_LOCK), lock(run_dir / RUN_LOCK):
        if read_status(run_dir).get("state") in ACTIVE:
            raise InvalidRequest(f"{run_dir.name} is still running; stop it before resuming")
        check_not_training(run_dir)  # a process may train it whatever its status says
        if _uses_gpu(config) and _gpu_busy(root):
            raise InvalidRequest("a GPU run is already running; wait for it before resuming")
        _check_resumable(run_dir)
        threads = threads or threads_for_new_run(root)
        (run_dir / folder.STOP_REQUEST).unlink(missing_ok=True)
        folder.write_status(run_dir, RunState.STARTING, None, owner=False)
        _spawn(args, run_dir, threads)
    return run_dir


def delete_run(run_dir: Path) -> None:
    """Delete a run folder, stopping the run first if it is still active.

    A run is either whole or gone: its process is stopped first; then, holding the run's
    lock and its training lock (nobody resumes or trains it meanwhile), the folder is
    renamed aside in one step (:func:`_set_aside`) and checked there. What a user wrote
    into it, even while the run was stopping, makes the folder go back under its name,
    untouched; only a folder of nothing but run files is removed.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder (one holding ``config.json``).

    Raises
    ------
    InvalidRequest
        ``run_dir`` is not a run folder, it holds files no run writes (nothing is
        deleted then: a user's notes in a run folder are never removed), or it was
        resumed while being deleted.
    core.runs.supervisor.RunBusy
        Another process trains it (a ``ValueError`` too); the folder is kept.
    RuntimeError
        Its process could not be stopped (the folder is kept).
    """
    run_dir = Path(run_dir)
    if not (run_dir / folder.CONFIG).is_file() or run_dir.is_symlink():
        raise InvalidRequest(f"{run_dir} is not a run folder (no {folder.CONFIG})")
    _refuse_foreign(run_dir, run_dir, stopped=False)  # a run that cannot go keeps going
    stop_run(run_dir)  # returns at once when no process works on it
    if run_status.judge(run_dir).alive:
        raise RuntimeError(f"the process of {run_dir.name} could not be stopped; kept it")
    aside = _set_aside(run_dir)
    for name in folder.run_entries(aside):  # only run files: checked there, after the stop
        (aside / name).unlink(missing_ok=True)
    try:
        aside.rmdir()
    except OSError as error:  # something was written into it meanwhile (an open folder)
        raise InvalidRequest(
            f"the run files of {run_dir.name} were deleted, but {aside} is not empty "
            f"({error.strerror}): look at what is left there"
        ) from None


def _refuse_foreign(path: Path, run_dir: Path, stopped: bool) -> None:
    """Refuse, naming them, when ``path`` holds anything no run writes."""
    if foreign := folder.foreign_entries(path):
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        done = "the run was stopped, but nothing was deleted" if stopped else "nothing was deleted"
        raise InvalidRequest(
            f"{run_dir} holds files no run writes ({shown}); {done}. "
            "Move them out first, or delete the folder yourself."
        )


def _set_aside(run_dir: Path) -> Path:
    """Rename a stopped run's folder aside for deletion, after checking it there.

    Under the run's lock and its training lock the folder is renamed to
    ``.<name>.<pid>.<hex>.deleting`` beside it (:func:`core.runs.folder.deleting_name`;
    listings skip it), so nothing can add to it by its name any more, then checked: a
    run resumed meanwhile, or anything that is not a run file, and it is renamed back.

    Returns
    -------
    pathlib.Path
        The folder set aside, holding only run files.
    """
    with lock(run_dir / RUN_LOCK):
        training = take_training_lock(run_dir)  # refused while any process trains it
        try:
            if read_status(run_dir).get("state") in ACTIVE:
                raise InvalidRequest(
                    f"{run_dir.name} was started again while being deleted; nothing was deleted"
                )
            aside = run_dir.with_name(folder.deleting_name(run_dir.name))
            os.rename(run_dir, aside)
            try:
                _refuse_foreign(aside, run_dir, stopped=True)
            except InvalidRequest:
                _put_back(aside, run_dir)
                raise
        finally:
            training.release()
    return aside


def _put_back(aside: Path, run_dir: Path) -> None:
    """Rename a folder set aside back to its name; say where it is if that fails."""
    try:
        os.rename(aside, run_dir)
    except OSError as error:  # its name was taken meanwhile: nothing is lost, it stays aside
        raise InvalidRequest(
            f"{run_dir} holds files no run writes; nothing was deleted, but the folder could "
            f"not be renamed back ({error.strerror}): it is {aside}"
        ) from None
