"""``python -m core.runs``, run as other processes would run it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.runs import folder, manager
from core.runs.__main__ import main
from tests.runs.helpers import wait_for

KEYS = {"path", "name", "status", "modality", "epochs_done", "best_val_loss", "reason"}


def cli(*args, timeout=120):
    """Run ``python -m core.runs ARGS`` in a separate process, from the repository."""
    return subprocess.run(
        [sys.executable, "-m", "core.runs", *map(str, args)],
        cwd=manager.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fake_run(root, name, state, records=(), pid=None, owned=False):
    run_dir = root / name
    run_dir.mkdir(parents=True)
    config = {"modality": "audio", "training": {"max_epochs": 5, "device": "cpu"}}
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    folder.write_status(run_dir, state, None, owner=owned)
    if pid is not None:
        status = folder.read_json(run_dir / folder.STATUS)
        folder.write_json_atomic(run_dir / folder.STATUS, {**status, "pid": pid, "proc_start": 1})
    for epoch, val_loss in enumerate(records, start=1):
        folder.append_metrics(run_dir, {"epoch": epoch, "train_loss": 1.0, "val_loss": val_loss})
    return run_dir


@pytest.fixture
def root(runs_root):
    return runs_root


@pytest.mark.slow
def test_list_prints_every_run_as_json_and_as_a_table(root):
    done = fake_run(root, "audio-done", "completed", records=(0.7, 0.6, 0.65))
    dead = fake_run(root, "audio-dead", "running", records=(0.8,), pid=2**22 + 7, owned=True)
    result = cli("list", "--root", root, "--json")
    assert result.returncode == 0, result.stderr
    runs = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert set(runs) == {done.name, dead.name}
    assert all(KEYS | {"max_epochs"} <= set(r) for r in runs.values())
    assert runs[done.name]["status"] == "completed"
    assert runs[done.name]["epochs_done"] == 3 and runs[done.name]["best_val_loss"] == 0.6
    assert (runs[dead.name]["status"], runs[dead.name]["reason"]) == (
        "failed",
        manager.DEAD_REASON,
    )
    assert folder.read_json(dead / folder.STATUS)["state"] == "running"  # listing never writes

    table = cli("list", "--root", root).stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "MODALITY", "STATUS"]
    assert any(line.startswith(done.name) and "3/5" in line for line in table)
    assert "no runs under" in cli("list", "--root", root / "empty").stdout


def test_resume_and_delete_say_what_is_wrong(root, capsys):
    broken = fake_run(root, "audio-broken", "stopped", records=(0.7,))
    (broken / folder.LATEST).write_bytes(b"PK\x03\x04 not a whole checkpoint")
    assert main(["resume", str(broken)]) == 1
    assert str(broken / folder.LATEST) in capsys.readouterr().err
    assert folder.read_json(broken / folder.STATUS)["state"] == "failed"

    assert main(["stop", str(root)]) == 1
    assert "not a run folder" in capsys.readouterr().err
    assert main(["delete", str(broken)]) == 0
    assert not broken.exists()


@pytest.mark.slow
def test_a_run_outlives_its_launcher_and_other_processes_stop_and_resume_it(small_corpus, root):
    values = {"hidden_size": 8, "window_s": 4, "batch_size": 8, "patience": 100}
    values.update(max_epochs=400, device="cpu")
    launcher = (
        "import sys; from pathlib import Path; from core.runs.manager import start_run; "
        f"print(start_run('audio', {values!r}, sys.argv[1], root=Path(sys.argv[2])))"
    )
    started = subprocess.run(
        [sys.executable, "-c", launcher, str(small_corpus), str(root)],
        cwd=manager.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    run_dir = Path(started.stdout.strip())  # its launcher has exited; the run goes on
    wait_for(lambda: len(folder.read_metrics(run_dir)) >= 2, 90, "2 epochs")
    (listed,) = json.loads(cli("list", "--root", root, "--json").stdout)
    assert listed["status"] == "running" and listed["path"] == str(run_dir)

    result = cli("stop", run_dir, "--timeout", 30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{run_dir}: stopped (stop requested)"
    done = len(folder.read_metrics(run_dir))
    assert manager.read_status(run_dir)["state"] == "stopped"

    result = cli("resume", run_dir, "--max-epochs", done + 2, "--threads", 1)
    assert result.returncode == 0, result.stderr
    status = wait_for(
        lambda: (s := manager.read_status(run_dir))["state"] not in manager.ACTIVE and s,
        90,
        "the resumed run to finish",
    )
    assert status["state"] == "completed"
    assert [r["epoch"] for r in folder.read_metrics(run_dir)] == list(range(1, done + 3))
    assert folder.read_json(run_dir / folder.LAUNCHER)["threads"] == 1


def test_resume_takes_more_epochs_and_a_patience(root, capsys, monkeypatch):
    launched = []
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: launched.append(args))
    run_dir = fake_run(root, "audio-early", "early-stopped", records=(0.7, 0.6, 0.65, 0.66))
    monkeypatch.setattr(manager, "_check_resumable", lambda run_dir: None)
    assert main(["resume", str(run_dir), "--more-epochs", "0"]) == 1
    assert "more_epochs 0: outside the allowed range 1 to 500" in capsys.readouterr().err
    assert main(["resume", str(run_dir), "--more-epochs", "10", "--patience", "9"]) == 0
    assert launched == [["--resume", str(run_dir), "--max-epochs", "14", "--patience", "9"]]


def test_stop_records_a_run_whose_process_died_as_failed(root, capsys):
    dead = fake_run(root, "audio-dead", "running", records=(0.8,), pid=2**22 + 7, owned=True)
    assert main(["list", "--root", str(root)]) == 0
    assert folder.read_json(dead / folder.STATUS)["state"] == "running"  # listing only judges
    assert main(["stop", str(dead)]) == 0
    assert capsys.readouterr().out.endswith(f"{dead}: failed ({manager.DEAD_REASON})\n")
    assert folder.read_json(dead / folder.STATUS)["state"] == "failed"


def test_stop_refuses_a_timeout_that_is_not_a_finite_number(root, capsys):
    run_dir = fake_run(root, "audio-done", "completed")
    for value in ("nan", "inf", "-1"):
        with pytest.raises(SystemExit) as exit_:
            main(["stop", str(run_dir), "--timeout", value])
        assert exit_.value.code == 2
        assert f"{value}: expected a finite number of seconds" in capsys.readouterr().err


def test_resume_passes_allow_changed_data_on(root, monkeypatch):
    launched = []
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: launched.append(args))
    monkeypatch.setattr(manager, "_check_resumable", lambda run_dir: None)
    run_dir = fake_run(root, "audio-stopped", "stopped", records=(0.7,))
    assert main(["resume", str(run_dir), "--allow-changed-data"]) == 0
    assert launched == [["--resume", str(run_dir), "--allow-changed-data"]]
