"""The Experiments page through AppTest, on real experiments run by the engine.

One experiment is composed on the page, started (a real background driver and Dask
workers), stopped, resumed to the end, watched, compared and promoted; the form's plan
and its errors are checked without starting anything.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from core.experiment import experiment_status
from core.experiment.status import process_record
from tests.screens.apptest import chart_titles, open_page
from ui.experiment_status import page_status

pytestmark = pytest.mark.slow


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def frame_with(at, column: str) -> pd.DataFrame:
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def wait_for(exp_dir: Path, states: tuple[str, ...], promotion: bool = False) -> dict:
    """Wait until the driver (or the promotion) is in one of ``states``; the full status.

    Polls the driver's own record, cheaply, so that the wait takes no CPU from the runs.
    """
    record = exp_dir / ("promotion/promotion.json" if promotion else "driver.json")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = process_record(record).get("state")
        if state in states:
            return experiment_status(exp_dir)
        if state == "failed":
            raise AssertionError(f"failed: {process_record(record)}")
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {states}: {process_record(record)}")


def rerun(at):
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_form_says_what_it_will_train_or_what_is_wrong(small_corpus, runs_root):
    at = open_page("experiments", small_corpus)
    assert any("No experiments yet" in i.value for i in at.info)
    at.radio(key="experiments_protocol").set_value("cv")
    rerun(at)
    at.number_input(key="experiments_folds").set_value(3)
    at.text_input(key="experiments_seeds").set_value("0, 1, 2")
    at.text_input(key="experiments_audio_hidden_size_values").set_value("8, 16")
    rerun(at)
    (plan,) = [t for t in texts(at) if " runs: " in t]
    assert plan.startswith("18 runs: 2 configurations x 3 seeds x 3 folds, each up to 30 epochs")
    assert "Rough time: unknown (no earlier audio run" in plan

    at.text_input(key="experiments_seeds").set_value("0, zero")
    rerun(at)
    assert any("seeds" in t and "zero" in t for t in texts(at))
    assert not [b for b in at.button if b.key == "experiments_start"]

    at.text_input(key="experiments_seeds").set_value("0")
    at.radio(key="experiments_sampler").set_value("tpe")
    rerun(at)
    at.number_input(key="experiments_trials").set_value(5)
    at.toggle(key="experiments_audio_hidden_size_ranged").set_value(True)
    rerun(at)
    at.number_input(key="experiments_audio_hidden_size_low").set_value(4.0)
    rerun(at)
    assert any("search.hidden_size.low" in t and "outside" in t for t in texts(at))
    at.number_input(key="experiments_audio_hidden_size_low").set_value(16.0)
    rerun(at)
    (plan,) = [t for t in texts(at) if " runs: " in t]
    assert plan.startswith("15 runs: 5 configurations x 1 seed x 3 folds, ")


def test_compose_start_stop_resume_watch_compare_and_promote(small_corpus, runs_root, monkeypatch):
    stored = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        stored[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = open_page("experiments", small_corpus)
    at.text_input(key="experiments_name").set_value("tiny")
    at.text_input(key="experiments_audio_hidden_size_values").set_value("8, 16")
    at.slider(key="experiments_audio_max_epochs").set_value(1)
    at.number_input(key="experiments_workers").set_value(1)
    rerun(at)
    (plan,) = [t for t in texts(at) if " runs: " in t]
    assert plan.startswith("4 runs: 2 configurations x 2 seeds, each up to 1 epochs, on 1 worker")

    at.button(key="experiments_start").click()
    rerun(at)
    exp_dir = runs_root / "experiments" / "tiny"
    assert json.loads((exp_dir / "spec.json").read_text())["fixed"] == {"max_epochs": 1}
    assert any("Started tiny" in s.value for s in at.success)
    assert at.toggle(key="experiments_compose").value is False  # the form makes way
    assert not [b for b in at.button if b.key == "experiments_start"]
    assert "Starting the experiment's driver…" in texts(at)  # until its driver has begun
    assert not [b for b in at.button if b.key in ("experiments_stop", "experiments_resume")]
    wait_for(exp_dir, ("running",))
    rerun(at)
    assert any(t.startswith("tiny: running; ") for t in texts(at))

    at.button(key="experiments_stop").click()
    rerun(at)
    assert experiment_status(exp_dir)["state"] == "stopped"
    assert any("Stopped tiny" in s.value for s in at.success)
    at.button(key="experiments_resume").click()
    rerun(at)
    assert any("Resumed tiny" in s.value for s in at.success)
    wait_for(exp_dir, ("running", "completed"))
    rerun(at)
    assert any(t.startswith(("tiny: running; ", "tiny: completed; ")) for t in texts(at))
    status = wait_for(exp_dir, ("completed",))
    assert status["done"] == status["n_runs"] == 4
    assert page_status(exp_dir) == status  # the page's cached status is the engine's

    rerun(at)
    grid = frame_with(at, "settings").set_index("configuration")
    assert set(grid["settings"]) == {"hidden_size=8", "hidden_size=16"}
    assert (grid[["seed 0", "seed 1"]] == "✓").all().all()
    assert (grid["done"] == "2/2").all()
    best = status["best"]
    assert f"Best so far: {best['id']} (hidden_size={best['params']['hidden_size']})" in texts(at)
    interval = f"95 % interval [{best['ci_low']:.3f}, {best['ci_high']:.3f}]"
    assert any(f"mean over 2 seeds {best['mean']:.3f}" in t and interval in t for t in texts(at))
    titles = chart_titles(at)
    assert titles[0].startswith("macro-F1 per configuration")
    assert titles[1] == "Varied settings against macro-F1 (2 configurations scored)"
    assert any("is higher than" in t or "have the same" in t for t in texts(at))

    configurations = stored["tiny-configurations.csv"].decode()
    assert configurations.startswith("# spec: ")
    table = pd.read_csv(io.StringIO(configurations), comment="#")
    assert sorted(table["hidden_size"]) == [8, 16]
    assert table.set_index("configuration").loc[best["id"], "mean"] == pytest.approx(best["mean"])
    runs = pd.read_csv(io.StringIO(stored["tiny-runs.csv"].decode()), comment="#")
    assert len(runs) == 4 and set(runs["state"]) <= {"completed", "early-stopped"}

    at.button(key="experiments_promote").click()
    rerun(at)
    assert any("Promotion started" in s.value for s in at.success)
    status = wait_for(exp_dir, ("completed",), promotion=True)
    rerun(at)
    promoted = frame_with(at, "TEST macro-F1")
    assert promoted["seed"].tolist() == [0, 1]
    expected = [r["test"]["macro_f1"] for r in status["promotion"]["runs"]]
    assert promoted["TEST macro-F1"].tolist() == pytest.approx(expected)
    assert any("held-out test split, scored once" in c.value for c in at.caption)
    assert any(t.startswith("Its dev macro-F1 in the experiment: mean") for t in texts(at))
    assert not [b for b in at.button if b.key == "experiments_promote"]


def test_the_time_estimate_rests_on_earlier_runs_epoch_times(tmp_path):
    from core.config import make_config
    from core.experiment import spec_from_dict
    from core.experiment.estimate import (
        CLUSTER_START_S,
        LATER_RUN_STARTUP_S,
        RUN_STARTUP_S,
        duration_text,
        estimate,
    )
    from core.runs import folder

    spec = spec_from_dict(
        {"name": "e", "modality": "audio", "seeds": [0, 1], "protocol": "cv", "folds": 3}
        | {"fixed": {"max_epochs": 10}, "search": {"hidden_size": [8, 16]}}
    )
    assert estimate(spec, tmp_path, 2)["total_s"] is None  # nothing measured yet
    for name, modality, seconds in (
        ("a", "audio", [1.0, 3.0]),
        ("b", "audio", [2.0]),
        ("t", "face", [50.0]),
    ):
        run_dir = tmp_path / name
        run_dir.mkdir()
        folder.write_json_atomic(run_dir / folder.CONFIG, make_config(modality, "/corpus"))
        for epoch, elapsed in enumerate(seconds, 1):
            folder.append_metrics(run_dir, {"epoch": epoch, "elapsed_s": elapsed})
    plan = estimate(spec, tmp_path, 4)
    assert plan["runs"] == 2 * 2 * 3 and plan["max_epochs"] == 10
    # the usual start-up + median of the audio epochs (1, 3, 2) x 10 epochs
    assert plan["per_run_s"] == RUN_STARTUP_S + 2.0 * 10
    later = LATER_RUN_STARTUP_S + 2.0 * 10  # 12 runs on 4 workers: 4 first, 8 later
    assert plan["total_s"] == CLUSTER_START_S + plan["per_run_s"] + 8 * later / 4
    assert "3 epochs of 2 earlier audio runs" in plan["basis"]
    assert duration_text(60.0) == "about 60 s" and duration_text(600) == "about 10 min"
    assert duration_text(30) == "about 30 s" and duration_text(9000) == "about 2.5 h"

    text = spec_from_dict({"name": "t", "modality": "text", "seeds": [0]})
    run_dir = tmp_path / "text-run"
    run_dir.mkdir()
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config("text", "/corpus"))
    folder.write_json_atomic(
        run_dir / folder.STATUS, {"state": "completed", "started": 100.0, "heartbeat": 112.0}
    )
    plan = estimate(text, tmp_path, 1)
    assert plan["max_epochs"] is None  # text runs fit once, without epochs
    assert (plan["runs"], plan["per_run_s"], plan["total_s"]) == (1, 12.0, CLUSTER_START_S + 12)


def test_baselines_grid_and_csv_of_an_experiment():
    from ui.experiment_tables import csv_bytes, objective_baselines, state_grid

    baselines = objective_baselines("macro_f1", [1, 0, 0, 0])
    assert baselines == {
        "always 'depressed'": pytest.approx(0.2),
        "always 'not depressed'": pytest.approx(3 / 7),
    }
    assert objective_baselines("auroc", [1, 0]) == {"any constant score": 0.5}
    (loss,) = objective_baselines("val_loss", [1, 0, 0, 0]).values()
    assert loss == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    runs = [
        {"seed": 0, "fold": 0, "state": "completed"},
        {"seed": 0, "fold": 1, "state": "failed"},
        {"seed": 1, "fold": 0, "state": "running"},
        {"seed": 1, "fold": 1, "state": "pending"},
    ]
    status = {
        "configurations": [
            {"id": "c000", "params": {"lr": 0.001}, "n_runs": 4, "n_done": 1, "runs": runs}
        ]
    }
    (row,) = state_grid(status).to_dict("records")
    assert row == {
        "configuration": "c000",
        "settings": "lr=0.001",
        "seed 0 fold 0": "✓",
        "seed 0 fold 1": "✗",
        "seed 1 fold 0": "▶",
        "seed 1 fold 1": "·",
        "done": "1/4",
    }
    data = csv_bytes(pd.DataFrame({"a": [1]}), {"name": "x"}).decode()
    assert data == '# spec: {"name": "x"}\na\n1\n'
