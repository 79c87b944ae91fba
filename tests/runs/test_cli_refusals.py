"""``python -m core.runs`` (and ``core.experiment stop``): refusals said in one line."""

from __future__ import annotations

import errno
import os

import pytest

from core.experiment.__main__ import main as experiment_main
from core.runs import folder, manager
from core.runs.__main__ import main
from core.runs.supervisor import take_training_lock
from tests.runs.test_cli import fake_run


def test_list_names_experiment_runs_with_their_experiment(runs_root, capsys):
    fake_run(runs_root, "audio-own", "completed")
    for experiment in ("sweep-a", "sweep-b"):
        fake_run(runs_root / "experiments" / experiment / "runs", "c001-s0", "completed")
    fake_run(runs_root / "experiments" / "sweep-a" / "promotion", "c001-s0", "completed")
    assert main(["list", "--root", str(runs_root)]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert sorted(names) == [
        "audio-own",
        "sweep-a/c001-s0",
        "sweep-a/promotion/c001-s0",
        "sweep-b/c001-s0",
    ]


def test_resume_of_a_run_another_process_trains_says_it_is_busy(runs_root, capsys, monkeypatch):
    launched = []
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: launched.append(args))
    monkeypatch.setattr(manager, "_check_resumable", lambda run_dir: None)
    run_dir = fake_run(runs_root, "audio-elsewhere", "stopped", records=(0.7,))
    held = take_training_lock(run_dir)  # as a process training the run holds it
    try:
        assert main(["resume", str(run_dir)]) == 2
    finally:
        held.release()
    captured = capsys.readouterr()
    assert "is busy" in captured.err and "resuming" not in captured.out
    assert launched == []
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "stopped"


def test_a_read_only_run_folder_is_one_message(runs_root, capsys, monkeypatch):
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: None)
    monkeypatch.setattr(manager, "_check_resumable", lambda run_dir: None)
    run_dir = fake_run(runs_root, "audio-stopped", "stopped", records=(0.7,))

    def read_only(path, write):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path) + ".tmp")

    monkeypatch.setattr(folder, "atomic_write", read_only)
    assert main(["resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir} is read-only" in err and "Traceback" not in err
    assert "another folder" in err and "writable" in err


def test_experiment_stop_refuses_a_timeout_as_the_runs_command_does(tmp_path, capsys):
    for value in ("nan", "inf", "-1"):
        assert experiment_main(["stop", str(tmp_path), "--timeout", value]) == 2
        assert f"{value}: expected a finite number of seconds" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            main(["stop", str(tmp_path), "--timeout", value])
        assert f"{value}: expected a finite number of seconds" in capsys.readouterr().err
