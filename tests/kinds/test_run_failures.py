"""Leftovers and failures say what happened (issue 16, item 6), with real runs and files."""

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core import files
from core.config import make_config
from core.runs import folder, manager
from core.runs.process import start_time
from core.train import main
from core.training import checkpoint
from tests.kinds.helpers import copy_run
from tests.runs.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]


def resume(run_dir: Path, *extra: str) -> int:
    return main(["--resume", str(run_dir), "--more-epochs", "1", "--quiet", *extra])


def full_disk(path, data):
    """The checkpoint's atomic write (core.files) on a full disk: half the data fits."""

    def write(handle):
        handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    files.atomic_write(path, write, binary=True)


def test_a_full_disk_fails_the_run_saying_so_and_leaves_no_temporary_file(
    tiny_audio_run, tmp_path, monkeypatch
):
    run_dir = copy_run(tiny_audio_run, tmp_path / "audio")
    monkeypatch.setattr(checkpoint, "atomic_write_bytes", full_disk)
    assert resume(run_dir) == 1
    status = folder.read_json(run_dir / folder.STATUS)
    assert status["state"] == "failed"
    assert status["reason"].startswith("no space left on device: free some space, then resume")
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert checkpoint.load_checkpoint(run_dir / folder.LATEST)["epoch"] == 1  # intact


def test_leftover_temporary_files_are_cleared_when_the_run_resumes(tiny_audio_run, tmp_path):
    run_dir = copy_run(tiny_audio_run, tmp_path / "audio")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    leftovers = [".latest_checkpoint.pth.k2x9q1ab.tmp", f".status.json.{dead}.a1b2c3.tmp"]
    for name in leftovers:
        (run_dir / name).write_bytes(b"\0" * 4096)
    live = f".metrics.jsonl.{os.getppid()}.d4e5f6.tmp"  # a live writer's: left alone
    (run_dir / live).write_bytes(b"{}")
    assert resume(run_dir) == 0
    names = {p.name for p in run_dir.iterdir()}
    assert not names & set(leftovers)
    assert live in names


def test_a_run_folder_deleted_while_training_ends_the_run_and_stays_deleted(
    tiny_audio_run, tmp_path
):
    run_dir = copy_run(tiny_audio_run, tmp_path / "audio")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.train", "--resume", str(run_dir), "--more-epochs", "400"]
        + ["--quiet", "--threads", "1"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(folder.read_metrics(run_dir)) >= 2, 90, "one more epoch")
        # As rm -rf, files first, then the folder: again if a write raced it.
        gone = lambda: shutil.rmtree(run_dir, ignore_errors=True) or not run_dir.exists()  # noqa: E731
        wait_for(gone, 10, "the run folder to be gone")
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert "the run folder was deleted while the run trained" in stderr, stderr[-2000:]
    assert not run_dir.exists()  # never recreated without its configuration


@contextlib.contextmanager
def tmpfs(mount: Path, size: str):
    """A small memory file system at ``mount`` (root only: skips the test otherwise)."""
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)]
    if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode:
        pytest.skip("needs root and a tmpfs mount")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk_fails_the_run_saying_so(tiny_audio_run, tmp_path):
    """On a full file system torch's writer said ``unexpected pos 40384 vs 40272``."""
    with tmpfs(tmp_path / "small", "1m") as mount:
        run_dir = copy_run(tiny_audio_run, mount / "audio")
        (run_dir / folder.BEST).unlink()
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * (free - 40 * 1024))  # no room for a checkpoint
        assert resume(run_dir) == 1
        status = folder.read_json(run_dir / folder.STATUS)
        assert (status["state"], status["reason"]) == (
            "failed",
            "no space left on device: free some space, then resume the run",
        )
        assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def read_only_copy(tiny_audio_run, tmp_path):
    """A copy of the run in a read-only folder: a read-only mount as root, else chmod."""
    if os.geteuid() != 0:
        run_dir = copy_run(tiny_audio_run, tmp_path / "audio")
        run_dir.chmod(0o555)
        yield run_dir
        run_dir.chmod(0o755)
        return
    with tmpfs(tmp_path / "ro", "64m") as mount:
        run_dir = copy_run(tiny_audio_run, mount / "audio")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield run_dir


def test_resuming_a_read_only_run_folder_says_so(read_only_copy, capsys):
    assert resume(read_only_copy) == 2
    error = capsys.readouterr().err
    assert f"{read_only_copy} is read-only" in error and "make the folder writable" in error


def test_a_command_line_run_takes_the_managers_share_of_the_cores(tiny_audio_run, tmp_path):
    other = copy_run(tiny_audio_run, tmp_path / "other")  # an active run beside it
    pid = os.getpid()
    folder.write_json_atomic(
        other / folder.STATUS,
        {"state": "running", "owned": True, "pid": pid, "proc_start": start_time(pid)},
    )
    run_dir = copy_run(tiny_audio_run, tmp_path / "audio")
    expected = manager.threads_for_new_run(tmp_path, exclude=run_dir)
    assert expected == max(1, (manager._cpu_count() - 1) // 2)
    threads = torch.get_num_threads()
    try:
        assert resume(run_dir) == 0
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(threads)
    assert folder.read_json(run_dir / folder.STATUS)["threads"] == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_configuration_file_with_a_non_finite_parameter_is_refused(
    small_corpus, tmp_path, capsys, value
):
    config = make_config("audio", small_corpus, {"max_epochs": 1}, 0)
    config["training"]["lr_factor"] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))  # Python's json writes NaN and Infinity
    run_dir = tmp_path / "run"
    assert main(["--config", str(path), "--run-dir", str(run_dir), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert f"{path}: training.lr_factor {value}: not a finite number" in error
    assert not run_dir.exists()
