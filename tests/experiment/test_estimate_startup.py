"""The time estimate counts each run's start-up and the cluster's, and says how it estimated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import make_config
from core.experiment import estimate as estimation
from core.experiment import spec_from_dict
from core.runs import folder

SPEC = {
    "name": "e",
    "modality": "audio",
    "seeds": [0, 1],
    "fixed": {"max_epochs": 10},
    "search": {"hidden_size": [8, 16]},
}  # 4 runs: 2 rounds on 2 workers


def _run(run_dir: Path, epochs: list[float], state: str | None = "completed") -> None:
    run_dir.mkdir(parents=True)
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config("audio", "/corpus"))
    if state is not None:
        folder.write_json_atomic(
            run_dir / folder.STATUS, {"state": state, "started": 100.0, "heartbeat": 200.0}
        )
    for epoch, elapsed in enumerate(epochs, 1):
        folder.append_metrics(run_dir, {"epoch": epoch, "elapsed_s": elapsed})


def _experiment(root: Path, created: float, ended: float) -> None:
    """An earlier experiment of 4 audio runs on 2 workers, each of 3 epochs of 2 s.

    Each worker's first run took 30 s, its second 8 s.
    """
    exp_dir = root / "experiments" / "old"
    names = ["c000-s0", "c000-s1", "c001-s0", "c001-s1"]
    for name in names:
        _run(exp_dir / "runs" / name, [2.0, 2.0, 2.0])
    outcomes = {
        name: {"state": "completed", "reused": False, "resumed": False}
        | {"pid": pid, "task_s": task_s}
        for name, pid, task_s in zip(names, [1, 2, 1, 2], [30.0, 30.0, 8.0, 8.0], strict=True)
    }
    (exp_dir / "outcomes.json").write_text(json.dumps(outcomes))
    setup = {"created": created, "workers": 2, "scheduler": None}
    (exp_dir / "experiment.json").write_text(json.dumps(setup))
    driver = {"state": "completed", "ended": ended, "workers": 2}
    (exp_dir / "driver.json").write_text(json.dumps(driver))


def test_runs_start_up_and_the_cluster_come_from_an_earlier_experiment(tmp_path):
    _experiment(tmp_path, created=1000.0, ended=1100.0)
    plan = estimation.estimate(spec_from_dict(SPEC), tmp_path, 2)
    # Earlier runs: 6 s of epochs each, so a first run's start-up is 24 s, a later one's
    # 2 s. The earlier experiment: 100 s in all, of which its runs took 30 s (the first
    # runs, together) + 16 s shared by 2 workers: 62 s to set up, start and close.
    assert plan["per_run_s"] == pytest.approx(24.0 + 10 * 2.0)
    assert plan["later_run_s"] == pytest.approx(2.0 + 10 * 2.0)
    assert plan["cluster_s"] == pytest.approx(62.0)
    assert plan["total_s"] == pytest.approx(62.0 + 44.0 + 2 * 22.0 / 2)
    assert "start-up of a worker's first run 24 s (median of 2 runs)" in plan["basis"]
    assert "of a later run 2.0 s (median of 2 runs)" in plan["basis"]
    assert "62 s to set up, start and close the driver and cluster" in plan["basis"]
    assert "2 later runs of 22.0 s shared by 2 workers" in plan["basis"]


def test_without_an_earlier_experiment_the_usual_start_up_figures_are_added(tmp_path):
    _run(tmp_path / "audio-1", [1.0, 3.0], state=None)  # epochs measured, no whole run
    plan = estimation.estimate(spec_from_dict(SPEC), tmp_path, 2)
    assert plan["per_run_s"] == pytest.approx(estimation.RUN_STARTUP_S + 10 * 2.0)
    assert plan["later_run_s"] == pytest.approx(estimation.LATER_RUN_STARTUP_S + 10 * 2.0)
    total = estimation.CLUSTER_START_S + plan["per_run_s"] + 2 * plan["later_run_s"] / 2
    assert plan["total_s"] == pytest.approx(total)
    assert "not measured here yet" in plan["basis"]
    on_a_cluster = estimation.estimate(spec_from_dict(SPEC), tmp_path, 4, scheduler="tcp://h:8786")
    assert on_a_cluster["total_s"] == pytest.approx(on_a_cluster["per_run_s"])  # 4 at once


def test_a_resumed_experiment_is_not_a_measure_of_the_cluster(tmp_path):
    _experiment(tmp_path, created=1000.0, ended=5000.0)
    outcomes = tmp_path / "experiments" / "old" / "outcomes.json"
    records = json.loads(outcomes.read_text())
    records["c000-s0"]["resumed"] = True
    outcomes.write_text(json.dumps(records))
    plan = estimation.estimate(spec_from_dict(SPEC), tmp_path, 2)
    assert plan["cluster_s"] == estimation.CLUSTER_START_S


def test_the_form_says_how_the_time_was_estimated(small_corpus, tmp_path, monkeypatch):
    from tests.screens.apptest import open_page

    monkeypatch.setenv("DAIC_RUNS_ROOT", str(tmp_path))
    _experiment(tmp_path, created=1000.0, ended=1100.0)
    at = open_page("experiments", small_corpus)
    at.text_input(key="experiments_audio_hidden_size_values").set_value("8, 16")
    at.number_input(key="experiments_workers").set_value(2)
    at.text_input(key="experiments_seeds").set_value("0, 1")
    at.run()
    assert not at.exception, at.exception
    (plan,) = [t.value for t in at.text if " runs: " in t.value]
    assert "Rough time: about" in plan
    (how,) = [c.value for c in at.caption if c.value.startswith("How it was estimated")]
    assert "first run" in how and "to set up, start and close the driver and cluster" in how
