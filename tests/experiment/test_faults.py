"""The engine under faults: a torn journal, too many workers, a full disk, a changed
corpus, a run deleted while the experiment runs (issue 28)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.experiment import experiment_status, load_spec
from core.experiment.__main__ import main
from core.experiment.engine import distributions, open_study
from core.experiment.folder import Experiment, create
from core.runs import folder
from tests.experiment.helpers import write_spec

ONE_RUN = """\
name = "{name}"
modality = "audio"
objective = "macro_f1"
protocol = "dev"
seeds = [0]
sampler = "grid"
threads = 1

[fixed]
max_epochs = 1
"""
"""One configuration, one seed, the official split, one epoch: a single run."""


def _created(tmp_path: Path, corpus: Path, text: str = ONE_RUN, name: str = "one") -> Path:
    spec = load_spec(write_spec(tmp_path / f"{name}.toml", name=name, text=text))
    return create(spec, data=corpus, out=tmp_path / "experiments" / name, workers=1)


def _no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver opens the study, finds nothing to do and starts no cluster."""
    monkeypatch.setattr("core.experiment.engine.has_work", lambda exp, study: False)


# --- item 10: workers ------------------------------------------------------------------
def test_more_workers_than_cores_are_capped_saying_why(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cores = len(os.sched_getaffinity(0))
    asked = cores + 10
    out = create(
        load_spec(write_spec(tmp_path / "spec.toml", text=ONE_RUN)),
        data=small_corpus,
        out=tmp_path / "experiments" / "one",
        workers=asked,
    )
    assert folder.read_json(out / "experiment.json")["workers"] == cores
    _no_work(monkeypatch)
    assert main(["resume", str(out), "--workers", str(asked)]) == 0
    record = folder.read_json(out / "driver.json")
    assert record["workers"] == cores
    (note,) = record["notes"]
    assert f"--workers {asked} capped at {cores}" in note
    assert f"capped at {cores}" in capsys.readouterr().err
    # On a scheduler's cluster the number is the cluster's business.
    from core.experiment.folder import local_workers

    assert local_workers(asked, "tcp://127.0.0.1:8786") == (asked, None)


# --- item 4: a torn journal ------------------------------------------------------------
def test_a_torn_last_journal_record_is_set_aside_and_the_study_carries_on(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ONE_RUN.replace("[fixed]", "[search]\nhidden_size = [8, 16, 32]\n\n[fixed]")
    out = _created(tmp_path, small_corpus, text)
    exp = Experiment(out)
    study = open_study(exp)
    study.ask(distributions(exp))
    journal = out / "study.journal"
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-15])  # the last record cut short, as by a crash
    torn = whole[whole.rstrip(b"\n").rfind(b"\n") + 1 : -15]
    # The next driver appends to the journal: it must not join the torn record.
    _no_work(monkeypatch)
    assert main(["resume", str(out), "--workers", "1"]) == 0
    notes = folder.read_json(out / "driver.json").get("notes", [])
    study = open_study(Experiment(out))
    study.ask(distributions(exp))
    for _ in range(2):  # every later open reads it
        trials = open_study(Experiment(out)).get_trials(deepcopy=False)
        assert len(trials) == 2
        assert main(["resume", str(out), "--workers", "1"]) == 0
    assert any("last record was cut short" in n and "study.journal.torn" in n for n in notes)
    assert (out / "study.journal.torn").read_bytes() == torn + b"\n"  # kept


def test_an_unreadable_journal_is_rebuilt_from_the_runs_records(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ONE_RUN.replace("[fixed]", "[search]\nhidden_size = [8, 16, 32]\n\n[fixed]")
    out = _created(tmp_path, small_corpus, text)
    exp = Experiment(out)
    study = open_study(exp)
    trial = study.ask(distributions(exp))
    folder.write_json_atomic(
        out / "configurations.json", {"c000": {"trial": 0, "params": trial.params}}
    )
    journal = out / "study.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    broken = b"".join([*lines[:-1], lines[-1][:-20], b"\n"])  # a torn line, then a record
    journal.write_bytes(broken + lines[-1])
    _no_work(monkeypatch)
    assert main(["resume", str(out), "--workers", "1"]) == 0
    notes = folder.read_json(out / "driver.json")["notes"]
    assert any("rebuilt from the runs' own records" in n for n in notes)
    (kept,) = out.glob("study.journal.unreadable-*")
    assert kept.read_bytes() == broken + lines[-1]
    (rebuilt,) = open_study(Experiment(out)).get_trials(deepcopy=False)
    assert (rebuilt.number, rebuilt.params, rebuilt.state.name) == (0, trial.params, "RUNNING")
    # The grid does not ask for that configuration again.
    study = open_study(Experiment(out))
    others = [study.ask(distributions(exp)).params for _ in range(2)]
    assert trial.params not in others and len({json.dumps(p) for p in others}) == 2


def _copy_corpus(corpus: Path, to: Path) -> Path:
    """A copy of the shared corpus this test may change (others read the original)."""
    return Path(shutil.copytree(corpus, to))


def _status_states(out: Path) -> dict[str, tuple[str, str | None]]:
    status = experiment_status(out)
    return {
        r["name"]: (r["state"], r["reason"]) for c in status["configurations"] for r in c["runs"]
    }


# --- item 3: a full disk ----------------------------------------------------------------
def test_runs_failed_on_a_full_disk_are_tried_again_by_resume(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.experiment import engine
    from core.runs.manager import delete_run
    from tests.experiment.full_disk import FLAG

    two_folds = ONE_RUN.replace('protocol = "dev"', 'protocol = "cv"\nfolds = 2')
    out = _created(tmp_path, small_corpus, two_folds)
    full = tmp_path / "disk-is-full"
    full.touch()
    monkeypatch.setenv(FLAG, str(full))
    monkeypatch.setattr(engine, "PRELOAD", (*engine.PRELOAD, "tests.experiment.full_disk"))
    assert main(["resume", str(out), "--workers", "1"]) == 1
    states = _status_states(out)
    assert [s for s, _ in states.values()] == ["failed", "failed"]
    assert all(r.startswith("no space left on device") for _, r in states.values())
    record = folder.read_json(out / "driver.json")
    assert (record["runs_failed"], record["runs_succeeded"]) == (2, 0)
    assert record["state"] == "failed" and "all 2 runs failed" in record["reason"]
    full.unlink()  # space freed
    # Deleting a failed run asks for it to be tried again, even with --no-retry-failed.
    delete_run(out / "runs" / "c000-s0-f0")
    assert main(["resume", str(out), "--workers", "1", "--no-retry-failed"]) == 1
    states = _status_states(out)
    assert (states["c000-s0-f0"][0], states["c000-s0-f1"][0]) == ("completed", "failed")
    # A plain resume tries the failed run again.
    assert main(["resume", str(out), "--workers", "1"]) == 0
    status = experiment_status(out)
    (entry,) = status["configurations"]
    assert [r["state"] for r in entry["runs"]] == ["completed", "completed"]
    assert entry["mean"] is not None and status["best"]["id"] == "c000"
    earlier = folder.read_json(out / "outcomes.json")["c000-s0-f1"]["earlier"]
    assert [e["state"] for e in earlier] == ["failed"]  # the full disk
    (trial,) = open_study(Experiment(out)).get_trials(deepcopy=False)
    assert (trial.state.name, trial.value) == ("COMPLETE", entry["mean"])


# --- item 2: a changed corpus -------------------------------------------------------------
def _swap_labels(root: Path, name: str) -> list[int]:
    """Swap the labels (every column) of a depressed and a non-depressed participant."""
    import pandas as pd

    table = pd.read_csv(root / name)
    one = table.index[table["PHQ8_Binary"] == 1][0]
    zero = table.index[table["PHQ8_Binary"] == 0][0]
    columns = [c for c in table.columns if c != "Participant_ID"]
    table.loc[[one, zero], columns] = table.loc[[zero, one], columns].to_numpy()
    table.to_csv(root / name, index=False)
    return [int(table.loc[one, "Participant_ID"]), int(table.loc[zero, "Participant_ID"])]


def _dev_labels(run: Path) -> dict[int, int]:
    saved = folder.read_json(run / folder.EVALUATION)
    return {int(p["id"]): int(p["label"]) for p in saved["splits"]["dev"]["report"]["participants"]}


def test_a_changed_corpus_is_refused_unless_allowed_and_never_mixed(
    small_corpus: Path, tmp_path: Path, capsys
) -> None:
    from core.data import formats

    corpus = _copy_corpus(small_corpus, tmp_path / "daic")
    two_configurations = ONE_RUN.replace("[fixed]", "[search]\nhidden_size = [8, 16]\n\n[fixed]")
    out = _created(tmp_path, corpus, two_configurations)
    assert main(["resume", str(out), "--workers", "1"]) == 0
    old = {run.name: _dev_labels(run) for run in (out / "runs").iterdir()}
    assert sorted(old) == ["c000-s0", "c001-s0"]
    swapped = _swap_labels(corpus, formats.TRAIN_LABELS) + _swap_labels(corpus, formats.DEV_LABELS)
    capsys.readouterr()
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}
    assert main(["resume", str(out), "--workers", "1"]) == 1
    error = capsys.readouterr().err
    assert "the corpus changed since the experiment was created" in error
    assert "the label files changed" in error and "--allow-changed-data" in error
    assert "the corpus changed" in experiment_status(out)["reason"]  # the dashboard says so
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()} == stamps
    assert main(["resume", str(out), "--workers", "1", "--allow-changed-data"]) == 0
    (aside,) = (out / "superseded").iterdir()
    assert {run.name: _dev_labels(run) for run in (aside / "runs").iterdir()} == old  # kept
    new = {run.name: _dev_labels(run) for run in (out / "runs").iterdir()}
    assert sorted(new) == ["c000-s0", "c001-s0"]
    dev = swapped[2:]
    for name, labels in new.items():  # every run on the new labels
        assert [labels[pid] for pid in dev] == [1 - old[name][pid] for pid in dev]
    notes = folder.read_json(out / "driver.json")["notes"]
    assert any("the corpus changed" in n and "set aside" in n for n in notes)
    assert experiment_status(out)["state"] == "completed"
    assert main(["resume", str(out), "--workers", "1"]) == 0  # the new corpus is its own now


# --- item 8: a run deleted while the experiment runs ----------------------------------------
def test_a_run_deleted_while_the_experiment_runs_is_named_not_taken_for_a_stop(
    small_corpus: Path, tmp_path: Path
) -> None:
    import time

    from core.experiment import start_experiment
    from core.runs.manager import delete_run
    from core.runs.process import is_alive

    long_run = ONE_RUN.replace("max_epochs = 1", "max_epochs = 500\npatience = 100")
    spec = load_spec(write_spec(tmp_path / "long.toml", text=long_run))
    out = start_experiment(
        spec, data=small_corpus, out=tmp_path / "experiments" / "long", workers=1
    )
    run = out / "runs" / "c000-s0"
    deadline = time.monotonic() + 300
    while not (
        (folder.read_json(run / folder.STATUS) or {}).get("state") == "running"
        and (run / folder.LATEST).is_file()
    ):
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)
    delete_run(run)
    assert not run.exists()
    while True:
        record = folder.read_json(out / "driver.json") or {}
        if record.get("state") != "running" or not is_alive(record["pid"], record["proc_start"]):
            break
        assert time.monotonic() < deadline, "the driver did not end"
        time.sleep(0.1)
    status = experiment_status(out)
    assert status["state"] == "stopped"
    assert not status["reason"].startswith("asked to stop")
    assert "run c000-s0 was deleted while the experiment ran" in status["reason"]
    assert record["deleted"] == ["c000-s0"]
    assert folder.read_json(out / "outcomes.json")["c000-s0"]["state"] == "deleted"


# --- item 7: a grid of 10^4 -------------------------------------------------------------
def test_a_large_grid_is_asked_as_workers_come_free_and_stops_by_itself(
    small_corpus: Path, tmp_path: Path
) -> None:
    import time

    from core.experiment import start_experiment
    from core.experiment.control import stop
    from core.experiment.engine import AHEAD
    from core.runs.process import is_alive

    hidden = ", ".join(str(h) for h in range(8, 108))
    dropout = ", ".join(f"{i / 200:g}" for i in range(100))
    grid = ONE_RUN + f"\n[search]\nhidden_size = [{hidden}]\ndropout = [{dropout}]\n"
    spec = load_spec(write_spec(tmp_path / "grid.toml", name="grid", text=grid))
    assert spec.trials == 10_000
    out = start_experiment(spec, data=small_corpus, out=tmp_path / "experiments" / "g", workers=1)
    deadline = time.monotonic() + 300
    while len(folder.read_json(out / "outcomes.json") or {}) < 2:  # results keep flowing
        assert time.monotonic() < deadline, "no run finished"
        time.sleep(0.1)
    done = len(folder.read_json(out / "outcomes.json") or {})
    asked = len(folder.read_json(out / "configurations.json") or {})
    # never every trial up front: at most the finished ones, the worker's and a few ahead
    assert asked <= done + 1 + AHEAD + 1
    record = folder.read_json(out / "driver.json")
    stop(out, timeout_s=120)
    while is_alive(record["pid"], record["proc_start"]):
        assert time.monotonic() < deadline, "the driver did not end"
        time.sleep(0.05)
    after = folder.read_json(out / "driver.json")
    assert after["state"] == "stopped"
    assert not str(after.get("reason") or "").startswith("ended after")  # not killed by stop
