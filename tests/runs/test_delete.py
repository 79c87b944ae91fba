"""Deleting a run against what happens meanwhile: a run is either whole or gone.

Real processes write into the run folder while it is being deleted: a user's notes saved
while the run stops, a checkpoint writer whose temporary files come and go, a real
training run deleted while it trains.
"""

import subprocess
import sys
import textwrap

import pytest

from core.runs import folder, manager
from core.runs.supervisor import RunBusy
from tests.runs.helpers import wait_for

# A run's process that, while it is being stopped, lets its user save something into
# the run folder (a file or a folder of figures), then stops as asked.
WRITES_WHILE_STOPPING = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.runs import folder
    run_dir, what = Path(sys.argv[1]), sys.argv[2]
    folder.write_status(run_dir, "running")
    while not (run_dir / folder.STOP_REQUEST).exists():
        time.sleep(0.02)
    if what == "folder":
        (run_dir / "figures").mkdir()
        (run_dir / "figures" / "roc.svg").write_text("<svg/>")
    else:
        (run_dir / "notes.md").write_text("epoch 3 looks odd")
    folder.write_status(run_dir, "stopped", "stop requested")
    """
)

# Writes a checkpoint in a loop, as a training run does every epoch: its temporary file
# appears and is renamed into place over and over.
CHECKPOINT_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from core.training.checkpoint import save_checkpoint
    run_dir, go_on = Path(sys.argv[1]), Path(sys.argv[2])
    while go_on.exists():
        save_checkpoint(run_dir / "latest_checkpoint.pth", {"epoch": 1})
    """
)


def a_run(tmp_path, name="run"):
    run_dir = tmp_path / name
    run_dir.mkdir()
    config = {"modality": "audio", "training": {"max_epochs": 5, "device": "cpu"}}
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize("what", ["file", "folder"])
def test_what_a_user_saves_while_the_run_stops_keeps_the_run_whole(tmp_path, what):
    run_dir = a_run(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-c", WRITES_WHILE_STOPPING, str(run_dir), what],
        cwd=manager.REPO_ROOT,
        start_new_session=True,
    )
    config = (run_dir / folder.CONFIG).read_bytes()
    try:
        wait_for(lambda: folder.read_json(run_dir / folder.STATUS), 30, "the run's process")
        with pytest.raises(ValueError, match="holds files no run writes.*nothing was deleted"):
            manager.delete_run(run_dir)
        assert process.wait(timeout=30) == 0  # stopped as asked
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if what == "folder":
        assert (run_dir / "figures" / "roc.svg").read_text() == "<svg/>"
    else:
        assert (run_dir / "notes.md").read_text() == "epoch 3 looks odd"
    assert (run_dir / folder.CONFIG).read_bytes() == config  # the run is whole
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "stopped"
    assert [p.name for p in tmp_path.iterdir()] == [run_dir.name]  # nothing left aside


@pytest.mark.slow
def test_a_checkpoints_temporary_file_is_never_taken_for_a_users_file(tmp_path):
    run_dir, go_on = a_run(tmp_path), tmp_path / "keep-writing"
    go_on.touch()
    writer = subprocess.Popen(
        [sys.executable, "-c", CHECKPOINT_WRITER, str(run_dir), str(go_on)],
        cwd=manager.REPO_ROOT,
    )
    try:
        wait_for(lambda: (run_dir / folder.LATEST).exists(), 60, "the first checkpoint")
        seen = [folder.foreign_entries(run_dir) for _ in range(3000)]
        go_on.unlink()
        assert writer.wait(timeout=30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert [entries for entries in seen if entries] == []
    manager.delete_run(run_dir)
    assert not run_dir.exists()


# Trains the run from outside the manager (a command line's resume): holds its training
# lock until told to stop, while its status still says the last run completed.
TRAINS_IT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.runs.supervisor import take_training_lock
    run_dir, go_on = Path(sys.argv[1]), Path(sys.argv[2])
    held = take_training_lock(run_dir)
    (run_dir.parent / "holding").touch()
    while go_on.exists():
        time.sleep(0.02)
    """
)


@pytest.mark.slow
def test_a_run_that_another_process_trains_is_not_deleted(tmp_path):
    run_dir, go_on = a_run(tmp_path), tmp_path / "keep-training"
    folder.write_status(run_dir, "completed", "reached 5 epochs", owner=False)
    go_on.touch()
    trainer = subprocess.Popen(
        [sys.executable, "-c", TRAINS_IT, str(run_dir), str(go_on)], cwd=manager.REPO_ROOT
    )
    try:
        wait_for(lambda: (tmp_path / "holding").exists(), 30, "the training lock")
        with pytest.raises(RunBusy, match="training it right now"):
            manager.delete_run(run_dir)
        assert (run_dir / folder.CONFIG).is_file() and (run_dir / folder.STATUS).is_file()
    finally:
        go_on.unlink()
        trainer.wait(timeout=30)
    manager.delete_run(run_dir)  # once it has ended
    assert not run_dir.exists()
