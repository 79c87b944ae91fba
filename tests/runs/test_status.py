"""Reading a run's status: dead processes, zombies, recycled IDs and races."""

import dataclasses
import json
import shutil
import subprocess
import sys

import psutil
import pytest

from core.runs import folder, manager
from core.runs import status as run_status
from core.runs.manager import REPO_ROOT
from tests.runs.helpers import wait_for


def fake_run(tmp_path, name="run", device="cpu"):
    run_dir = tmp_path / name
    run_dir.mkdir()
    config = {"modality": "audio", "training": {"max_epochs": 5, "device": device}}
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    return run_dir


@pytest.mark.slow
def test_a_running_status_whose_process_is_a_zombie_is_failed(tmp_path):
    run_dir = fake_run(tmp_path)
    code = "import sys; from core.runs import folder; folder.write_status(sys.argv[1], 'running')"
    child = subprocess.Popen([sys.executable, "-c", code, str(run_dir)], cwd=REPO_ROOT)
    try:
        zombie = lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE  # noqa: E731
        wait_for(zombie, 30, "the child to become a zombie")
        assert folder.read_json(run_dir / folder.STATUS)["state"] == "running"
        status = run_status.read_status(run_dir)
        assert (status["state"], status["reason"]) == ("failed", run_status.DEAD_REASON)
        assert folder.read_json(run_dir / folder.STATUS)["state"] == "running"  # only judged
        assert manager.settle(run_dir)["state"] == "failed"  # the supervisor records it
        assert folder.read_json(run_dir / folder.STATUS)["state"] == "failed"
    finally:
        child.wait()


def test_a_recycled_process_id_is_not_the_run(tmp_path):
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "running")  # owned by this (live) process...
    status = folder.read_json(run_dir / folder.STATUS)
    assert run_status.read_status(run_dir)["state"] == "running"
    status["proc_start"] -= 1  # ...but one that started at another time
    folder.write_json_atomic(run_dir / folder.STATUS, status)
    assert run_status.read_status(run_dir)["state"] == "failed"


def test_a_run_that_finishes_while_being_settled_keeps_its_own_status(tmp_path, monkeypatch):
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "running")
    judge, calls = run_status.judge, []

    def finishes_meanwhile(run_dir, status=None):
        judged = judge(run_dir, status)
        if calls:
            return judged
        calls.append(judged)  # judged dead, then the run writes its last status
        folder.write_status(run_dir, "completed", "reached 5 epochs")
        return dataclasses.replace(judged, alive=False)

    monkeypatch.setattr(run_status, "judge", finishes_meanwhile)
    assert manager.settle(run_dir)["state"] == "completed"
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "completed"


def test_a_run_not_launched_yet_waits_then_fails(tmp_path, monkeypatch):
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "starting", owner=False)  # the manager's, before launching
    assert run_status.read_status(run_dir)["state"] == "starting"
    monkeypatch.setattr(run_status, "LAUNCH_GRACE_S", 0.0)
    assert run_status.read_status(run_dir)["state"] == "failed"


def test_an_unreadable_status_is_reported_not_raised(tmp_path):
    run_dir = fake_run(tmp_path)
    (run_dir / folder.STATUS).write_text("{not json")
    (info,) = run_status.list_runs(tmp_path)
    assert info.status == "unreadable" and info.reason.startswith("status.json: is not valid JSON")
    assert run_status.read_status(run_dir)["state"] == "failed"  # not active: resumable


def write_bad_file(run_dir, case):
    """Spoil one run file of ``run_dir`` as a hand edit or a copy cut short would."""
    if case == "truncated config":
        text = (run_dir / folder.CONFIG).read_text()
        (run_dir / folder.CONFIG).write_text(text[: len(text) // 2])
    elif case == "max_epochs lots":
        config = folder.read_json(run_dir / folder.CONFIG)
        config["training"]["max_epochs"] = "lots"
        folder.write_json_atomic(run_dir / folder.CONFIG, config)
    elif case == "val_loss low":
        folder.append_metrics(run_dir, {"epoch": 1, "val_loss": 0.5})
        folder.append_metrics(run_dir, {"epoch": 2, "val_loss": "low"})
    elif case == "started yesterday":
        folder.write_json_atomic(
            run_dir / folder.STATUS, {"state": "stopped", "started": "yesterday"}
        )
    elif case == "evaluation without baselines":
        report = {"metrics": {"n": 3, "macro_f1": 0.5}, "intervals": {}}
        folder.write_json_atomic(
            run_dir / folder.EVALUATION, {"splits": {"dev": {"report": report}}}
        )


BAD_FILES = {
    "truncated config": "config.json: is not valid JSON",
    "max_epochs lots": "config.json: training.max_epochs is 'lots', expected a whole number",
    "val_loss low": "metrics.jsonl line 2: val_loss is 'low', expected a number",
    "started yesterday": "status.json: started is 'yesterday', expected seconds since the epoch",
    "evaluation without baselines": "evaluation.json: splits.dev.report: baselines is missing",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_run_file_lists_its_folder_as_unreadable_beside_the_others(tmp_path, case):
    good = fake_run(tmp_path, "good")
    folder.write_status(good, "completed", "reached 5 epochs")
    folder.append_metrics(good, {"epoch": 1, "val_loss": 0.25})
    write_bad_file(fake_run(tmp_path, "bad"), case)
    runs = {info.path.name: info for info in run_status.list_runs(tmp_path)}
    assert (runs["good"].status, runs["good"].best_val_loss) == ("completed", 0.25)
    assert (runs["bad"].status, runs["bad"].modality) == ("unreadable", "?")
    assert runs["bad"].reason.startswith(BAD_FILES[case])


@pytest.mark.slow
def test_the_command_line_lists_bad_folders_as_unreadable_and_the_others_as_usual(tmp_path):
    folder.write_status(fake_run(tmp_path, "good"), "completed", "reached 5 epochs")
    for i, case in enumerate(BAD_FILES):
        write_bad_file(fake_run(tmp_path, f"bad{i}"), case)
    listed = subprocess.run(  # in its own process, as a user runs it
        [sys.executable, "-m", "core.runs", "list", "--root", str(tmp_path), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows.pop("good")["status"] == "completed"
    reasons = [(row["status"], row["reason"]) for _, row in sorted(rows.items())]
    assert [status for status, _ in reasons] == ["unreadable"] * len(BAD_FILES)
    assert all(r.startswith(w) for (_, r), w in zip(reasons, BAD_FILES.values(), strict=True))


def test_a_truncated_status_names_its_file_and_the_run_resumes_from_its_checkpoint(
    trained_runs, tmp_path
):
    run_dir = tmp_path / "audio"
    shutil.copytree(trained_runs["audio"], run_dir)
    done = len(folder.read_metrics(run_dir))
    text = (run_dir / folder.STATUS).read_text()
    (run_dir / folder.STATUS).write_text(text[: len(text) // 2])  # a copy cut short
    (info,) = run_status.list_runs(tmp_path)
    assert info.status == "unreadable" and info.reason.startswith("status.json: ")
    assert "resume" in info.reason
    resumed = subprocess.run(
        [sys.executable, "-m", "core.train", "--resume", str(run_dir), "--more-epochs", "1"]
        + ["--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    (info,) = run_status.list_runs(tmp_path)
    assert info.status in ("completed", "early-stopped") and info.epochs_done == done + 1
