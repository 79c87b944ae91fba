"""The run manager with real training processes on the small synthetic corpus."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from core.runs import folder, manager
from core.runs.process import is_alive
from core.training.checkpoint import CheckpointError, load_checkpoint
from tests.runs.helpers import wait_for

# Tiny audio runs: an epoch takes a few hundredths of a second, start-up a few seconds.
TINY = {"hidden_size": 8, "window_s": 4.0, "batch_size": 8, "patience": 100, "device": "cpu"}


def process_log(run_dir):
    path = run_dir / folder.PROCESS_LOG
    return path.read_text()[-3000:] if path.exists() else "(no process.log)"


def wait_finished(run_dir, timeout_s=90):
    def finished():
        status = manager.read_status(run_dir)
        return status if status["state"] not in manager.ACTIVE else None

    try:
        return wait_for(finished, timeout_s, f"{run_dir.name} to finish", poll_s=0.1)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{process_log(run_dir)}") from None


def epochs(run_dir):
    records = folder.read_metrics(run_dir)
    return [(r["epoch"], r["train_loss"], r["val_loss"], r["lr"]) for r in records]


def has_epochs(reader, n):
    reader.poll()
    return len(reader.records) >= n


# ----------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_runs_share_the_cores_and_a_stopped_run_resumes_where_it_stopped(small_corpus, runs_root):
    cores = manager._cpu_count()
    long_run = manager.start_run("audio", {**TINY, "max_epochs": 400}, small_corpus, root=runs_root)
    short_run = manager.start_run("audio", {**TINY, "max_epochs": 3}, small_corpus, root=runs_root)
    threads = [folder.read_json(d / folder.LAUNCHER)["threads"] for d in (long_run, short_run)]
    assert threads == [max(1, cores - 1), max(1, (cores - 1) // 2)]  # one core kept free

    # The long run's metrics grow while it runs, read incrementally.
    reader = folder.MetricsReader(long_run)
    seen = []
    wait_for(lambda: seen.append(len(reader.poll())) or len(reader.records) >= 3, 90, "3 epochs")
    assert sum(seen) == len(reader.records)  # each record delivered once
    assert manager.read_status(long_run)["state"] == "running"

    status = manager.stop_run(long_run)
    assert (status["state"], status["reason"]) == ("stopped", "stop requested")
    assert not is_alive(status["pid"], status["proc_start"])
    latest = load_checkpoint(long_run / folder.LATEST)
    before = folder.read_metrics(long_run)
    assert 3 <= latest["epoch"] == len(before) == len(latest["history"]) < 400
    assert load_checkpoint(long_run / folder.BEST)["epoch"] <= latest["epoch"]

    # The short run finished beside it; each process applied its own thread limit.
    assert wait_finished(short_run)["state"] == "completed"
    for run_dir, n in zip((long_run, short_run), threads, strict=True):
        assert folder.read_json(run_dir / folder.STATUS)["threads"] == n
        assert f"torch uses {n} CPU threads" in (run_dir / folder.LOG).read_text()

    done = latest["epoch"]
    manager.resume_run(long_run, max_epochs=done + 3)
    assert manager.read_status(long_run)["state"] in manager.ACTIVE
    with pytest.raises(ValueError, match="still running"):
        manager.resume_run(long_run)
    status = wait_finished(long_run)
    assert (status["state"], status["reason"]) == ("completed", f"reached {done + 3} epochs")
    after = folder.read_metrics(long_run)
    assert [r["epoch"] for r in after] == list(range(1, done + 4))
    assert after[:done] == before
    reader.poll()
    assert reader.records == after
    infos = {info.path: info for info in manager.list_runs(runs_root)}
    assert infos[long_run].epochs_done == done + 3 and infos[short_run].status == "completed"


@pytest.mark.slow
def test_killed_run_is_failed_within_seconds_and_resumes_exactly(small_corpus, runs_root):
    values = {**TINY, "max_epochs": 40}
    reference = manager.start_run("audio", values, small_corpus, seed=5, root=runs_root, threads=1)
    victim = manager.start_run("audio", values, small_corpus, seed=5, root=runs_root, threads=1)
    reader = folder.MetricsReader(victim)
    wait_for(lambda: has_epochs(reader, 2), 90, "2 epochs")
    pid = manager.read_status(victim)["pid"]
    os.killpg(pid, signal.SIGKILL)  # the whole process group, at whatever it was doing
    status = wait_for(
        lambda: (s := manager.read_status(victim))["state"] != "running" and s,
        10,
        "the killed run to be reported",
        poll_s=0.005,
    )
    assert (status["state"], status["reason"]) == ("failed", manager.DEAD_REASON)
    # Recorded on disk by its supervisor (this process started it), not by the reader.
    on_disk = lambda: folder.read_json(victim / folder.STATUS)["state"] == "failed"  # noqa: E731
    wait_for(on_disk, 5, "the supervisor to record the failure")
    killed_after = len(folder.read_metrics(victim))
    assert killed_after < 40

    manager.resume_run(victim, threads=1)
    assert wait_finished(victim)["state"] == "completed"
    assert wait_finished(reference)["state"] == "completed"
    assert len(epochs(victim)) == 40
    assert epochs(victim) == epochs(reference)  # exactly, epoch by epoch
    assert "resuming audio run" in (victim / folder.LOG).read_text()


@pytest.mark.slow
def test_a_run_that_fails_in_set_up_records_the_real_error(tmp_path, runs_root):
    # A fusion run fails before training: its audio source run cannot read the corpus.
    missing = tmp_path / "no-corpus"
    run_dir = manager.start_run("fusion", {"device": "cpu"}, missing, root=runs_root)
    status = wait_finished(run_dir)
    expected = f"DataError: {missing}: is not a folder; expected a DAIC-WOZ corpus root"
    assert (status["state"], status["reason"]) == ("failed", expected), process_log(run_dir)
    assert folder.read_json(run_dir / folder.STATUS)["reason"] == expected  # on disk
    assert "Traceback" in folder.log_tail(run_dir)  # the details stay one click away
    (source,) = [d for d in runs_root.iterdir() if d.name.startswith("audio-")]  # not checkpoints/
    assert (manager.read_status(source)["state"], manager.read_status(source)["reason"]) == (
        "failed",
        expected,
    )


def test_resume_counts_the_epoch_cap_from_where_the_run_stopped(tmp_path, monkeypatch):
    from core.train import build_parser

    launched = []
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: launched.append(args))
    monkeypatch.setattr(manager, "_check_resumable", lambda run_dir: None)
    run_dir = fake_run(tmp_path)
    folder.rewrite_metrics(run_dir, [{"epoch": e, "val_loss": 0.5} for e in range(1, 481)])
    folder.write_status(run_dir, "early-stopped", "no improvement", owner=False)

    manager.resume_run(run_dir, more_epochs=100, patience=20)
    assert launched[-1][2:] == ["--max-epochs", "580", "--patience", "20"]
    folder.write_status(run_dir, "stopped", owner=False)
    manager.resume_run(run_dir, max_epochs=900)
    assert launched[-1][2:] == ["--max-epochs", "900"]
    assert build_parser().parse_args(launched[-1]).max_epochs == 900  # the CLI takes it too
    folder.write_status(run_dir, "stopped", owner=False)
    with pytest.raises(ValueError, match="max_epochs 990: outside the allowed range 481 to 980"):
        manager.resume_run(run_dir, max_epochs=990)
    with pytest.raises(ValueError, match="more_epochs 0: outside the allowed range 1 to 500"):
        manager.resume_run(run_dir, more_epochs=0)
    with pytest.raises(ValueError, match="patience 0: outside the allowed range 1 to 100"):
        manager.resume_run(run_dir, more_epochs=5, patience=0)
    assert len(launched) == 2


@pytest.fixture
def finished_run(small_corpus, tmp_path):
    """A completed 3-epoch audio run, trained in this process."""
    from core.train import main

    run_dir = tmp_path / "finished"
    args = ["audio", "--data", str(small_corpus), "--run-dir", str(run_dir), "--quiet"]
    options = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "8", "--device", "cpu"]
    assert main([*args, *options, "--max-epochs", "3"]) == 0
    return run_dir


def test_truncated_latest_checkpoint_fails_resume_clearly_and_best_still_loads(finished_run):
    from core.kinds.neural_run import load_neural_run
    from core.train import main

    latest = finished_run / folder.LATEST
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    metrics_before = (finished_run / folder.METRICS).read_text()
    with pytest.raises(CheckpointError, match="truncated or corrupt") as caught:
        manager.resume_run(finished_run, max_epochs=5)
    assert str(latest) in str(caught.value)
    status = manager.read_status(finished_run)
    assert status["state"] == "failed" and str(latest) in status["reason"]
    assert status["reason"].startswith("CheckpointError: ")

    # The training command line says the same, and records it.
    folder.write_status(finished_run, "stopped", "stop requested")
    assert main(["--resume", str(finished_run), "--quiet"]) == 1
    status = folder.read_json(finished_run / folder.STATUS)
    assert status["state"] == "failed" and str(latest) in status["reason"]

    model, config, _ = load_neural_run(finished_run, "best")
    assert config["model"]["init_kwargs"]["hidden_size"] == 8
    assert (finished_run / folder.METRICS).read_text() == metrics_before


def test_missing_latest_checkpoint_after_finished_epochs_is_an_error(finished_run):
    (finished_run / folder.LATEST).unlink()
    with pytest.raises(CheckpointError, match="file not found"):
        manager.resume_run(finished_run)
    assert manager.read_status(finished_run)["state"] == "failed"


def test_a_run_with_no_finished_epoch_resumes_from_the_start(small_corpus, tmp_path):
    from core.config import make_config
    from core.train import main

    run_dir = tmp_path / "unfinished"
    run_dir.mkdir()
    config = make_config("audio", small_corpus, {**TINY, "max_epochs": 2}, seed=1)
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    folder.write_status(run_dir, "stopped", "stop requested")
    (run_dir / folder.STOP_REQUEST).write_text("{}")  # left over: ignored by a new resume
    assert main(["--resume", str(run_dir), "--quiet"]) == 0
    assert [r["epoch"] for r in folder.read_metrics(run_dir)] == [1, 2]


# ----------------------------------------------------------------------------- stubs


def fake_run(tmp_path, name="run", device="cpu"):
    run_dir = tmp_path / name
    run_dir.mkdir()
    config = {"modality": "audio", "training": {"max_epochs": 5, "device": device}}
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    return run_dir


STUBBORN = textwrap.dedent(
    """
    import signal, sys, time
    from core.runs import folder
    from pathlib import Path
    def refuse(signum, frame):  # a process that does not stop when asked
        Path(sys.argv[1], "sigterm-received").touch()
    signal.signal(signal.SIGTERM, refuse)
    folder.write_status(sys.argv[1], "running")
    while True:
        time.sleep(0.05)
    """
)


@pytest.mark.slow
def test_stop_escalates_to_sigterm_then_sigkill_and_records_it(tmp_path):
    run_dir = fake_run(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", STUBBORN, str(run_dir)],
        cwd=manager.REPO_ROOT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: folder.read_json(run_dir / folder.STATUS), 30, "the fake run")
        status = manager.stop_run(run_dir, timeout_s=0.3, poll_s=0.02)
        assert (run_dir / "sigterm-received").exists()  # asked first, then killed
        assert status["state"] == "stopped" and "SIGKILL" in status["reason"]
        assert child.wait(timeout=5) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_one_gpu_run_at_a_time(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    launched = []
    monkeypatch.setattr(manager, "_spawn", lambda args, run_dir, threads: launched.append(args))
    gpu_run = fake_run(tmp_path, "gpu", device="cuda")
    folder.write_status(gpu_run, "running")  # alive: owned by this process
    with pytest.raises(ValueError, match="GPU run is already running"):
        manager.start_run("audio", {"device": "cuda"}, root=tmp_path)
    auto = manager.start_run("audio", {"device": "auto"}, root=tmp_path)
    assert folder.read_json(auto / folder.CONFIG)["training"]["device"] == "cpu"
    assert len(launched) == 1
    other = fake_run(tmp_path, "other", device="cuda")
    folder.write_status(other, "stopped", owner=False)
    with pytest.raises(ValueError, match="GPU run is already running"):
        manager.resume_run(other)


def test_stopping_a_finished_run_changes_nothing(tmp_path):
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "completed", "reached 5 epochs", owner=False)
    status = manager.stop_run(run_dir, timeout_s=0.1)
    assert (status["state"], status["reason"]) == ("completed", "reached 5 epochs")
    assert not (run_dir / folder.STOP_REQUEST).exists()


def test_delete_refuses_other_folders_and_removes_runs(tmp_path):
    with pytest.raises(ValueError, match="not a run folder"):
        manager.delete_run(tmp_path)
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "completed", owner=False)
    manager.delete_run(run_dir)
    assert not run_dir.exists()


def test_delete_never_removes_a_users_files_in_a_run_folder(tmp_path):
    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "completed", owner=False)
    (run_dir / ".status.json.123.abc.tmp").write_text("{")  # an interrupted write: a run's
    (run_dir / "notes").mkdir()
    (run_dir / "notes" / "thesis.tex").write_text("\\chapter{Results}")
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    with pytest.raises(ValueError, match="holds files no run writes \\(notes\\)"):
        manager.delete_run(run_dir)
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    (run_dir / "notes" / "thesis.tex").unlink()
    (run_dir / "notes").rmdir()
    manager.delete_run(run_dir)  # the leftover temporary file is the run's own
    assert not run_dir.exists()


def test_resume_rejects_text_runs_and_bad_epoch_counts(tmp_path):
    text = tmp_path / "text"
    text.mkdir()
    folder.write_json_atomic(text / folder.CONFIG, {"modality": "text"})
    with pytest.raises(ValueError, match="text runs"):
        manager.resume_run(text)
    with pytest.raises(ValueError, match="max_epochs"):
        manager.resume_run(fake_run(tmp_path), max_epochs=0)
    with pytest.raises(FileNotFoundError, match="run folder"):
        manager.resume_run(tmp_path / "nowhere")
    shutil.rmtree(text)


def test_the_training_command_refuses_to_resume_a_live_run_whatever_the_environment(
    tmp_path, monkeypatch, capsys
):
    from core.train import main

    run_dir = fake_run(tmp_path)
    folder.write_status(run_dir, "running")  # owned by this live process
    monkeypatch.setenv("DAIC_RUN_MANAGED", "1")  # once a mode switch; now means nothing
    assert main(["--resume", str(run_dir), "--quiet"]) == 2
    assert "still running" in capsys.readouterr().err
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "running"


def test_the_supervisor_never_recreates_a_deleted_run_folder(runs_root):
    run_dir = runs_root / "audio-deleted"
    run_dir.mkdir()
    folder.write_json_atomic(run_dir / folder.CONFIG, {"modality": "audio"})
    folder.write_status(run_dir, "running")  # its process: this one
    shutil.rmtree(run_dir)  # deleted from outside while its process ends
    assert manager.settle(run_dir) == {"state": "failed", "reason": "the run folder was deleted"}
    assert manager.stop_run(run_dir, timeout_s=0)["reason"] == "the run folder was deleted"
    assert not run_dir.exists()
