"""Where a run stands: epochs, elapsed time, ETA, early stopping and best loss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.runs import folder
from core.runs.progress import run_progress, state_note, stop_requested_s


def records(losses: list[float], seconds: list[float]) -> list[dict]:
    return [
        {"epoch": i + 1, "val_loss": loss, "elapsed_s": s, "epochs_without_improvement": i}
        for i, (loss, s) in enumerate(zip(losses, seconds, strict=True))
    ]


CONFIG = {"training": {"max_epochs": 10, "patience": 4}}


def test_a_running_run_has_an_eta_from_its_last_five_epochs() -> None:
    done = records([0.9, 0.8, 0.85, 0.7, 0.75, 0.72], [10, 2, 2, 2, 2, 2])
    status = {"state": "running", "started": 100.0}
    progress = run_progress(done, status, CONFIG, launched=None, now=160.0)
    assert (progress.epoch, progress.total) == (6, 10)
    assert progress.elapsed_s == 20.0  # its epochs' time (no heartbeat: none under way)
    assert progress.eta_s == pytest.approx(2.0 * 4)  # the first epoch's 10 s is too old
    assert (progress.best_val_loss, progress.best_epoch) == (0.7, 4)
    assert (progress.without_improvement, progress.patience) == (5, 4)


def test_an_ended_run_has_no_eta_and_its_time_ends_at_its_last_heartbeat() -> None:
    status = {"state": "stopped", "started": 100.0, "heartbeat": 130.0}
    progress = run_progress(records([0.5], [3]), status, CONFIG, launched=110.0, now=999.0)
    assert progress.eta_s is None
    assert progress.elapsed_s == 3.0  # its epochs' time, whichever process trained them


def test_a_run_beyond_its_plan_shows_the_epochs_it_has() -> None:
    progress = run_progress(records([0.5] * 3, [1] * 3), {"state": "completed"}, {}, None, 0.0)
    assert (progress.epoch, progress.total, progress.elapsed_s) == (3, 3, 3.0)
    assert progress.without_improvement == 2


def test_what_each_state_says() -> None:
    assert state_note({"state": "failed"}) == ("error", "The run failed: no reason was recorded")
    assert state_note({"state": "early-stopped", "reason": "no improvement"}) == (
        "success",
        "Early-stopped: no improvement",
    )
    assert state_note({"state": "starting"})[0] == "caption"
    assert state_note({"state": "running"}) is None


def test_seconds_since_a_stop_was_requested(tmp_path: Path) -> None:
    assert stop_requested_s(tmp_path) is None
    request = tmp_path / folder.STOP_REQUEST
    request.touch()
    os.utime(request, (1000.0, 1000.0))
    assert stop_requested_s(tmp_path, now=1012.5) == 12.5
