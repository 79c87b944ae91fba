"""The page's cached statistics are keyed by content, not by modification times."""

from __future__ import annotations

import os

from core.experiment import experiment_status
from tests.experiment import disagreeing
from ui.experiment_status import page_status, runs_key


def test_touching_files_keeps_the_key_and_new_content_changes_it(tmp_path):
    exp_dir = disagreeing.build(tmp_path / "exp", tmp_path / "data")
    status = experiment_status(exp_dir)
    runs = status["configurations"][0]["runs"]
    before = runs_key(runs)
    for path in exp_dir.rglob("*"):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # as after a copy without times
    assert runs_key(runs) == before
    evaluation = exp_dir / "runs" / "c000-s0" / "evaluation.json"
    evaluation.write_text(evaluation.read_text() + " ")
    assert runs_key(runs) != before


def test_the_page_status_is_cores(tmp_path):
    exp_dir = disagreeing.build(tmp_path / "exp", tmp_path / "data")
    assert page_status(exp_dir) == experiment_status(exp_dir)
