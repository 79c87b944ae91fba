"""Start, watch, stop, resume and delete training runs as separate OS processes.

Streamlit reruns a page script on every interaction and does not support work in
background threads, so each run is its own process (``python -m core.train``), in its own
process group, writing everything to its run folder. Disk is the source of truth: any
number of dashboard sessions, and the command line, see the same runs.

Status never lies: a run whose ``status.json`` says *running* but whose process is gone
(killed, crashed, machine rebooted) is reported, and recorded, as *failed* with the reason
"process ended unexpectedly". Liveness is checked on the process itself (its ID and start
time, so a recycled ID is not mistaken for the run) and, where the process cannot be seen,
on the heartbeat file the training process touches every second.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.pipeline.config import DEFAULT_RUNS_ROOT
from core.runs import folder

REPO_ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_STALE_S = 10.0
LAUNCH_GRACE_S = 30.0
_CHILDREN: dict[int, subprocess.Popen] = {}


def _alive(status: dict[str, Any]) -> bool:
    """Whether the process a status names is still the run's process, and running."""
    pid = status.get("pid")
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:  # reap our own finished children
        _CHILDREN.pop(pid, None)
        return False
    if Path("/proc").is_dir():
        started = folder.process_start_time(pid)
        return started is not None and started == status.get("proc_start", started)
    try:  # no /proc: the process exists, and its heartbeat is recent
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return time.time() - float(status.get("heartbeat") or 0.0) < HEARTBEAT_STALE_S


@dataclass
class RunInfo:
    """What the runs table shows about one run."""

    path: Path
    modality: str
    status: str
    reason: str | None
    epochs_done: int
    max_epochs: int | None
    best_val_loss: float | None
    config: dict[str, Any]

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
        }


def read_status(run_dir: Path) -> dict[str, Any]:
    """A run's status, with a dead "running" run turned into (and recorded as) failed."""
    run_dir = Path(run_dir)
    status = folder.read_json(run_dir / folder.STATUS) or {"state": "starting"}
    heartbeat = run_dir / folder.HEARTBEAT
    if heartbeat.exists():
        status["heartbeat"] = max(status.get("heartbeat") or 0.0, heartbeat.stat().st_mtime)
    if status.get("state") not in ("starting", "running"):
        return status
    if status.get("state") == "starting" and not status.get("owned"):
        # Written by the manager just before launching: the launched process is the run.
        launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
        if launcher.get("time", 0) < status.get("heartbeat", 0):  # not launched yet
            if time.time() - status.get("heartbeat", 0) < LAUNCH_GRACE_S:
                return status
        status = {**status, "pid": launcher.get("pid"), "proc_start": launcher.get("proc_start")}
    if _alive(status):
        return status
    return folder.write_status(
        run_dir, "failed", "process ended unexpectedly", owner=False, pid=status.get("pid")
    )


def run_info(run_dir: Path) -> RunInfo:
    """Summarise one run folder (configuration, status, epochs, best validation loss)."""
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
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``root`` (default ``checkpoints/``), newest first."""
    root = Path(root or DEFAULT_RUNS_ROOT)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and (p / folder.CONFIG).exists()]
    runs.sort(key=lambda p: (p / folder.CONFIG).stat().st_mtime, reverse=True)
    return [run_info(p) for p in runs]


def _threads_for_new_run(root: Path) -> int:
    """CPU threads for a new run so that running runs share the cores, not oversubscribe."""
    running = sum(r.status in ("starting", "running") for r in list_runs(root))
    return max(1, (os.cpu_count() or 1) // (running + 1))


def _spawn(args: list[str], run_dir: Path, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }
    log = open(run_dir / folder.PROCESS_LOG, "ab")  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.train", *args, "--quiet", "--threads", str(threads)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop signals reach only it
        )
    finally:
        log.close()
    _CHILDREN[process.pid] = process
    folder.write_json_atomic(
        run_dir / folder.LAUNCHER,
        {
            "pid": process.pid,
            "proc_start": folder.process_start_time(process.pid),
            "time": time.time(),
        },
    )
    return process


def start_run(
    modality: str,
    values: dict[str, Any] | None = None,
    data_root: str | Path | None = None,
    seed: int = 0,
    root: Path | None = None,
    sources: dict[str, str | None] | None = None,
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

    Raises
    ------
    ValueError
        Invalid hyper-parameters, or a second GPU run while one is running.
    """
    from core.pipeline.config import make_config

    root = Path(root or DEFAULT_RUNS_ROOT)
    config = make_config(modality, data_root, values, seed, sources)  # validates first
    device = config.get("training", {}).get("device", "cpu")
    if device in ("cuda", "auto") and _gpu_busy(root):
        if device == "cuda":
            raise ValueError("a GPU run is already running; wait for it or choose the CPU")
        config["training"]["device"] = "cpu"
    run_dir = folder.new_run_dir(root, modality)
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    folder.write_status(run_dir, "starting", None, owner=False, modality=modality)
    args = ["--run-dir", str(run_dir), "--config", str(run_dir / folder.CONFIG)]
    _spawn(args, run_dir, _threads_for_new_run(root))
    return run_dir


def _gpu_busy(root: Path) -> bool:
    """Whether a running run is using a GPU (one GPU run at a time)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return False
    except ImportError:
        return False
    for info in list_runs(root):
        if info.status in ("starting", "running"):
            if info.config.get("training", {}).get("device") in ("cuda", "auto"):
                return True
    return False


def resume_run(run_dir: Path, max_epochs: int | None = None) -> Path:
    """Continue a stopped or finished run in a new process (up to ``max_epochs`` in total).

    Raises
    ------
    ValueError
        The run is still running, or is a text run (no epochs).
    """
    run_dir = Path(run_dir)
    info = run_info(run_dir)
    if info.status in ("starting", "running"):
        raise ValueError(f"{run_dir.name} is still running; stop it before resuming")
    if info.modality == "text":
        raise ValueError("text runs have no epochs to resume; start a new text run")
    (run_dir / folder.STOP_REQUEST).unlink(missing_ok=True)
    args = ["--resume", str(run_dir)]
    if max_epochs is not None:
        args += ["--max-epochs", str(int(max_epochs))]
    folder.write_status(run_dir, "starting", None, owner=False)
    _spawn(args, run_dir, _threads_for_new_run(run_dir.parent))
    return run_dir


def request_stop(run_dir: Path) -> None:
    """Ask a run to stop: it finishes the current batch, keeps its last epoch, and exits."""
    (Path(run_dir) / folder.STOP_REQUEST).write_text(f"{time.time()}\n")


def stop_run(run_dir: Path, timeout_s: float = 30.0, poll_s: float = 0.1) -> dict[str, Any]:
    """Stop a run and wait for it: cooperative request, then SIGTERM, then SIGKILL.

    Returns
    -------
    dict
        The final status.
    """
    run_dir = Path(run_dir)
    request_stop(run_dir)
    status = read_status(run_dir)
    pid = status.get("pid")
    deadline = time.monotonic() + timeout_s
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and pid and _alive(status):
            try:
                os.killpg(os.getpgid(pid), sig)
            except (ProcessLookupError, PermissionError):
                pass
            deadline = time.monotonic() + min(timeout_s, 10.0)
        while time.monotonic() < deadline:
            status = read_status(run_dir)
            if status.get("state") not in ("starting", "running"):
                return status
            time.sleep(poll_s)
    return read_status(run_dir)


def delete_run(run_dir: Path) -> None:
    """Delete a run folder (stopping the run first if it is still running)."""
    run_dir = Path(run_dir)
    if not (run_dir / folder.CONFIG).exists():
        raise ValueError(f"{run_dir} is not a run folder")
    if read_status(run_dir).get("state") in ("starting", "running"):
        stop_run(run_dir)
    shutil.rmtree(run_dir)
