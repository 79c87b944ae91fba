"""The engine on a small corpus: honest out-of-fold statistics, idempotent reruns, kills."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from core.data import Corpus
from core.experiment import (
    experiment_status,
    list_experiments,
    load_spec,
    resume_experiment,
    start_experiment,
    stop_experiment,
)
from core.experiment.__main__ import main
from core.experiment.engine import drive
from core.experiment.folder import create
from core.runs import folder
from core.runs.process import is_alive
from tests.experiment.helpers import (
    finished_files,
    numbers,
    run_mid_epoch,
    write_spec,
)


def test_every_participant_has_one_out_of_fold_probability_per_seed(
    reference: Path, small_corpus: Path, capsys: pytest.CaptureFixture
) -> None:
    corpus = Corpus(small_corpus)
    train_dev = {i for s in ("train", "dev") for i in corpus.ids(s, "audio", labelled=True)}
    status = experiment_status(reference)
    assert status["state"] == "completed"
    assert [len(c["runs"]) for c in status["configurations"]] == [4, 4]
    for configuration in status["configurations"]:
        for seed in (0, 1):
            ids = Counter()
            for run in configuration["runs"]:
                if run["seed"] == seed:
                    saved = folder.read_json(Path(run["path"]) / folder.EVALUATION)
                    ids.update(p["id"] for p in saved["splits"]["dev"]["report"]["participants"])
                    assert "never reads test labels" in saved["splits"]["test"]["no_labels"]
            assert set(ids) == train_dev and set(ids.values()) == {1}
        assert configuration["n_runs"] == 4 and configuration["n_done"] == 4
        assert configuration["ci_low"] <= configuration["mean"] <= configuration["ci_high"]
        per_seed = [s["value"] for s in configuration["per_seed"]]
        assert configuration["mean"] == pytest.approx(sum(per_seed) / 2)
        assert configuration["sd"] is not None
    # status --json prints the same entries; the study was told the mean over seeds.
    assert main(["status", str(reference), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [c["mean"] for c in printed["configurations"]] == [
        c["mean"] for c in status["configurations"]
    ]
    assert {"params", "n_runs", "objective", "mean", "sd", "ci_low", "ci_high", "runs"} <= set(
        printed["configurations"][0]
    )
    assert {"seed", "fold", "state", "path"} <= set(printed["configurations"][0]["runs"][0])
    import optuna

    study = optuna.load_study(
        study_name="small",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(reference / "study.journal"))
        ),
    )
    told = sorted(t.value for t in study.trials)
    assert told == sorted(c["mean"] for c in status["configurations"])
    assert status["best"]["mean"] == max(told)


def test_running_the_same_spec_again_trains_nothing(
    reference: Path, small_corpus: Path, tmp_path: Path
) -> None:
    before = finished_files(reference)
    assert len(before) == 8 * 4
    spec = write_spec(tmp_path / "spec.toml")
    args = ["run", str(spec), "--data", str(small_corpus), "--out", str(reference)]
    assert main([*args, "--workers", "1"]) == 0
    assert finished_files(reference) == before
    other = write_spec(tmp_path / "other.toml", name="other")
    assert main(["run", str(other), "--data", str(small_corpus), "--out", str(reference)]) == 1


def _wait(condition, timeout_s: float = 120.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_stopped_resumed_and_killed_experiments_give_the_same_numbers(
    reference: Path, small_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted"
    spec = load_spec(write_spec(tmp_path / "spec.toml"))
    assert start_experiment(spec, data=small_corpus, out=out, workers=2) == out
    # A worker killed mid-run: Dask reschedules its task, which resumes the run.
    run, pid = _wait(lambda: run_mid_epoch(out), what="a run mid-way")
    os.kill(pid, signal.SIGKILL)
    # A clean stop: the runs in progress keep their last epoch and exit.
    _wait(lambda: len(finished_files(out)) >= 4, what="a finished run")
    stopped = stop_experiment(out)
    assert stopped["state"] == "stopped"
    states = Counter(r["state"] for c in stopped["configurations"] for r in c["runs"])
    assert not {"starting", "running"} & set(states)  # nothing left training
    assert 1 <= states["completed"] < 8 and states["stopped"] >= 1
    # Resumed in the background, then the driver is killed.
    first = folder.read_json(out / "driver.json")["pid"]
    done_at_stop = len(finished_files(out))
    resume_experiment(out)
    _wait(lambda: len(finished_files(out)) > done_at_stop, what="one more finished run")
    driver = _wait(lambda: _new_driver(out, first), what="the resumed driver")
    os.kill(driver["pid"], signal.SIGKILL)
    _wait(lambda: not is_alive(driver["pid"], driver["proc_start"]), 10, "the driver's end")
    assert experiment_status(out)["state"] == "failed"  # ended unexpectedly
    before = finished_files(out)
    assert drive(out, workers=2) == "completed"
    after = finished_files(out)
    assert {k: after[k] for k in before} == before  # finished runs were not trained again
    outcomes = folder.read_json(out / "outcomes.json")
    finished_before = {key.split("/")[0] for key in before}
    assert all(outcomes[name]["reused"] for name in finished_before)
    assert "resuming audio run" in (run / folder.LOG).read_text()
    assert numbers(out) == numbers(reference)
    assert experiment_status(out)["state"] == "completed"


def test_a_stop_pressed_while_the_driver_starts_is_kept_and_an_older_one_cleared(
    small_corpus: Path, tmp_path: Path
) -> None:
    spec = load_spec(write_spec(tmp_path / "spec.toml"))
    out = create(spec, data=small_corpus, out=tmp_path / "experiments" / "small", workers=1)
    asked = time.time() - 10.0  # the driver was asked for 10 s ago, the stop 9 s ago
    folder.write_json_atomic(out / "stop.request", {"time": asked + 1.0})
    assert main(["resume", str(out), "--requested-at", repr(asked), "--workers", "1"]) == 0
    status = experiment_status(out)
    assert status["state"] == "stopped" and status["done"] == 0
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())  # nothing trained
    assert (out / "stop.request").exists()  # still there for anyone watching
    # The next resume was asked for after that stop: the stop is an old one and goes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.experiment.engine.has_work", lambda exp, study: False)
        assert drive(out, workers=1) == "completed"
    assert not (out / "stop.request").exists()


@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_others_finish(
    small_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    text = write_spec(tmp_path / "spec.toml").read_text()
    text = text.replace("seeds = [0, 1]", "seeds = [0]").split("[search]")[0]
    spec = load_spec(write_spec(tmp_path / "one.toml", text=text))
    out = create(spec, data=small_corpus, out=tmp_path / "experiments" / "one", workers=1)
    broken = folder.read_json(out / "experiment.json")
    broken["data_root"] = str(tmp_path / "no-corpus-here")
    config = _run_config(out, broken)
    folder.write_json_atomic(out / "configs" / "c000-s0-f0.json", config)
    assert main(["resume", str(out)]) == 1  # a run failed
    status = experiment_status(out)
    (entry,) = status["configurations"]
    states = {r["name"]: (r["state"], r["reason"]) for r in entry["runs"]}
    assert states["c000-s0-f1"][0] == "completed"
    assert states["c000-s0-f0"][0] == "failed" and "no-corpus-here" in states["c000-s0-f0"][1]
    assert entry["mean"] is None and status["best"] is None
    assert "c000-s0-f0 failed" in capsys.readouterr().out
    # Resuming with --no-retry-failed does not try the failed run again.
    stamp = (out / "runs" / "c000-s0-f0" / folder.STATUS).stat().st_mtime_ns
    assert drive(out, workers=1, retry_failed=False) == "completed"
    assert (out / "runs" / "c000-s0-f0" / folder.STATUS).stat().st_mtime_ns == stamp
    (listed,) = list_experiments(tmp_path)
    assert (listed["name"], listed["state"], listed["n_runs"], listed["done"]) == (
        "small",
        "completed",
        2,
        1,
    )


def _new_driver(out: Path, old_pid: int) -> dict | None:
    record = folder.read_json(out / "driver.json") or {}
    return record if record.get("pid") != old_pid and record.get("state") == "running" else None


def _run_config(out: Path, setup: dict) -> dict:
    from core.experiment.folder import Experiment, RunPlan

    exp = Experiment(out)
    exp.setup = setup
    return exp.run_config(RunPlan("c000-s0-f0", "c000", 0, 0), {})


def test_promote_retrains_the_best_configuration_and_reports_test(
    reference: Path, tmp_path: Path
) -> None:
    experiment = shutil.copytree(reference, tmp_path / "experiment")  # others read reference
    assert main(["promote", str(experiment), "--workers", "2"]) == 0
    status = experiment_status(experiment)
    promotion = status["promotion"]
    assert promotion["state"] == "completed"
    assert promotion["configuration"] == status["best"]["id"]
    assert [r["seed"] for r in promotion["runs"]] == [0, 1]
    for run in promotion["runs"]:
        config = folder.read_config(Path(run["path"]))
        assert "assignment" not in config["data"]  # the official split
        assert config["experiment"]["role"] == "promotion"
        assert run["test"]["n"] > 0 and 0.0 <= run["test"]["macro_f1"] <= 1.0
    # The search's own runs still never read test labels.
    for configuration in status["configurations"]:
        for run in configuration["runs"]:
            saved = folder.read_json(Path(run["path"]) / folder.EVALUATION)
            assert "report" not in saved["splits"]["test"]


def test_compare_two_configurations_on_the_same_participants(
    reference: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["compare", str(reference), "c000", "c001", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    entries = {e["id"]: e for e in experiment_status(reference)["configurations"]}
    boot = result["bootstrap"]
    assert (boot["a"], boot["b"]) == (entries["c000"]["mean"], entries["c001"]["mean"])
    assert boot["ci_low"] <= boot["difference"] <= boot["ci_high"]
    assert 0.0 <= boot["share_a_better"] <= 1.0 and "c000" in result["sentence"]
    assert main(["compare", str(reference), "c000", "c404"]) == 1
    assert "no configuration 'c404'" in capsys.readouterr().err
