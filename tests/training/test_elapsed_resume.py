"""The elapsed time of a run counts its whole training time, across resumes.

Reported: 24 s at epoch 24, then 22 s at epoch 34 after a resume (the time of the
resumed process only). The epochs' own times are in the history that the checkpoint
keeps, so a resumed run still knows how long its earlier epochs took.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.kinds.callbacks import RunFolderWriter
from core.runs import folder
from core.runs.progress import run_progress
from core.training.batches import WindowBatches
from core.training.trainers import WindowClassifierTrainer
from tests.training.tiny import TinyNet

CONFIG = {"training": {"max_epochs": 40, "patience": 10}}


def epochs(first: int, last: int, seconds: float) -> list[dict]:
    return [
        {"epoch": e, "val_loss": 1.0 / e, "elapsed_s": seconds, "epochs_without_improvement": 0}
        for e in range(first, last + 1)
    ]


def test_a_resumed_run_counts_the_epochs_before_its_resume() -> None:
    now = 10_000.0
    records = epochs(1, 24, 1.0) + epochs(25, 34, 2.25)  # 24 s, then 22.5 s after the resume
    status = {"state": "running", "started": now - 500.0, "heartbeat": now - 0.5}
    progress = run_progress(records, status, CONFIG, launched=now - 22.5, now=now)
    assert progress.elapsed_s == 24.0 + 22.5 + 0.5  # and the epoch under way


def test_an_ended_run_shows_the_time_it_trained_not_the_time_it_waited() -> None:
    records = epochs(1, 24, 1.0) + epochs(25, 34, 2.0)
    status = {"state": "completed", "started": 100.0, "heartbeat": 5_000.0}  # resumed later
    progress = run_progress(records, status, CONFIG, launched=4_970.0, now=9_999.0)
    assert progress.elapsed_s == 44.0


def test_a_starting_run_shows_its_earlier_training_and_a_new_one_nothing_yet() -> None:
    starting = {"state": "starting", "heartbeat": 50.0}
    resumed = run_progress(epochs(1, 3, 4.0), starting, CONFIG, launched=60.0, now=70.0)
    assert resumed.elapsed_s == 12.0
    assert run_progress([], starting, CONFIG, launched=60.0, now=70.0).elapsed_s is None


def loaders() -> tuple[WindowBatches, WindowBatches]:
    gen = torch.Generator().manual_seed(0)
    pids = np.repeat(np.arange(900, 906), 4)
    y = torch.tensor([0, 1] * 3).repeat_interleave(4)
    x = torch.randn(24, 5, 3, generator=gen) + 0.3 * y[:, None, None]
    return (
        WindowBatches(x, y, pids, 8, shuffle=True, seed=7),
        WindowBatches(x[::2], y[::2], pids[::2], 8, shuffle=False),
    )


def trainer(run_dir: Path, **kwargs) -> WindowClassifierTrainer:
    torch.manual_seed(0)
    model = TinyNet()
    return WindowClassifierTrainer(
        model,
        nn.CrossEntropyLoss(),
        torch.optim.Adam(model.parameters(), lr=0.01),
        "cpu",
        run_dir=run_dir,
        patience=20,
        progress=False,
        callbacks=[RunFolderWriter(run_dir)],
        **kwargs,
    )


def test_the_run_folder_of_a_stopped_and_resumed_run_gives_its_whole_training_time(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    calls = itertools.count(1)  # 3 batches per epoch: call 7 is the first batch of epoch 3
    first = trainer(run_dir, stop_check=lambda: next(calls) >= 7)
    first.train(*loaders(), n_epochs=3)
    assert first.status == "stopped" and first.epoch == 2
    before = [r["elapsed_s"] for r in folder.read_metrics(run_dir)]

    second = trainer(run_dir)
    second.train(*loaders(), n_epochs=3, resume_from=run_dir)
    assert second.status == "completed"
    records = folder.read_metrics(run_dir)
    assert [r["elapsed_s"] for r in records[:2]] == before  # kept exactly by the checkpoint
    status = folder.read_json(run_dir / folder.STATUS)
    launched = status["heartbeat"]  # the resumed process: what the page used to count from
    progress = run_progress(records, status, CONFIG, launched=launched, now=launched + 60.0)
    assert progress.elapsed_s == sum(r["elapsed_s"] for r in records)
