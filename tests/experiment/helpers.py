"""Helpers of the experiment tests: the small spec, numbers to compare, killing mid-run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from core.runs import folder

SPEC = """\
name = "{name}"
modality = "audio"
objective = "macro_f1"
protocol = "cv"
folds = 2
seeds = [0, 1]
sampler = "grid"
threads = 1

[fixed]
max_epochs = 3

[search]
hidden_size = [8, 16]
"""
"""The issue's example, smaller: 2 configurations x 2 seeds x 2 folds of 3 epochs."""


def write_spec(path: Path, name: str = "small", text: str = SPEC) -> Path:
    """Write a spec file and return its path."""
    path.write_text(text.format(name=name), encoding="utf-8")
    return path


def numbers(exp_dir: Path) -> dict[str, tuple]:
    """Per run: its dev predictions and per-epoch losses (what must be identical)."""
    out = {}
    for run in sorted((exp_dir / "runs").iterdir()):
        saved = folder.read_json(run / folder.EVALUATION)
        predictions = saved["splits"]["dev"]["report"]["participants"]
        losses = [(r["train_loss"], r["val_loss"]) for r in folder.read_metrics(run)]
        out[run.name] = (json.dumps(predictions), losses)
    return out


def finished_files(exp_dir: Path) -> dict[str, int]:
    """Modification times of the files a finished run wrote (unchanged if not retrained)."""
    stamps = {}
    for run in (exp_dir / "runs").iterdir():
        state = (folder.read_json(run / folder.STATUS) or {}).get("state")
        if state in ("completed", "early-stopped") and (run / folder.EVALUATION).exists():
            for name in (folder.BEST, folder.LATEST, folder.METRICS, folder.EVALUATION):
                stamps[f"{run.name}/{name}"] = (run / name).stat().st_mtime_ns
    return stamps


def run_mid_epoch(exp_dir: Path) -> tuple[Path, int] | None:
    """A run that has finished at least one epoch and is still training, with its pid."""
    for status_file in (exp_dir / "runs").glob(f"*/{folder.STATUS}"):
        status = folder.read_json(status_file) or {}
        run = status_file.parent
        saved = (run / folder.LATEST).is_file()  # an epoch is saved: there is a resume point
        if status.get("state") == "running" and saved and len(folder.read_metrics(run)) < 3:
            return run, int(status["pid"])
    return None


class WorkerKiller(threading.Thread):
    """Kill (SIGKILL) the process training some run of ``exp_dir`` once, mid-run."""

    def __init__(self, exp_dir: Path, timeout_s: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.exp_dir, self.timeout_s = exp_dir, timeout_s
        self.killed: Path | None = None
        self.pid: int | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline and self.killed is None:
            found = run_mid_epoch(self.exp_dir) if (self.exp_dir / "runs").is_dir() else None
            if found:
                self.killed, self.pid = found
                os.kill(self.pid, signal.SIGKILL)
                return
            time.sleep(0.02)
