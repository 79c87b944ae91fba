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
    text = ONE_RUN.replace("[fixed]", '[search]\nhidden_size = [8, 16, 32]\n\n[fixed]')
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
    text = ONE_RUN.replace("[fixed]", '[search]\nhidden_size = [8, 16, 32]\n\n[fixed]')
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
    return {r["name"]: (r["state"], r["reason"]) for c in status["configurations"] for r in c["runs"]}
