"""One atomic write for every file the app replaces, and one name for its temporary file.

Each writer runs in a real process that is killed (SIGKILL) at the instant it would
rename its temporary file into place, the worst moment for a crash: the target keeps
its old content, the leftover is named ``.<name>.<pid>.<hex>.tmp`` whoever wrote it, and
whatever cleans up (a run's leftovers, the frame cache's clear) finds it.
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core import files
from core.data import storage
from core.runs import folder
from core.runs.cleanup import remove_leftovers

REPO_ROOT = Path(__file__).resolve().parents[1]

KILLED_AT_THE_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    from core.data.cache import _write_npz
    from core.models.text import fit_text_pipeline, make_text_pipeline, save_text_model
    from core.runs import folder
    from core.training.checkpoint import save_checkpoint

    where, writer = Path(sys.argv[1]), sys.argv[2]
    pipeline = None
    if writer == "text model":
        pipeline = make_text_pipeline(seed=0, n_estimators=5, min_df=1, max_df=1.0)
        pipeline = fit_text_pipeline(pipeline, ["i feel fine", "i feel low"] * 4, [0, 1] * 4)

    def killed(source, target):  # the process dies just before the rename
        os.kill(os.getpid(), signal.SIGKILL)

    os.replace = killed
    if writer == "status":
        folder.write_status(where, "running")
    elif writer == "checkpoint":
        save_checkpoint(where / folder.LATEST, {"epoch": 2})
    elif writer == "text model":
        save_text_model(pipeline, where / folder.TEXT_MODEL)
    elif writer == "frame cache":
        _write_npz(where / "0123abcd.npz", {"x": np.zeros(3)})
    """
)

TARGETS = {
    "status": folder.STATUS,
    "checkpoint": folder.LATEST,
    "text model": folder.TEXT_MODEL,
    "frame cache": "0123abcd.npz",
}


def killed_while_writing(where: Path, writer: str) -> None:
    process = subprocess.run(
        [sys.executable, "-c", KILLED_AT_THE_RENAME, str(where), writer],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("writer", list(TARGETS))
def test_a_write_killed_at_the_rename_leaves_one_kind_of_leftover_that_is_cleared(
    tmp_path, monkeypatch, writer
):
    where = tmp_path / "place"
    where.mkdir()
    old = where / TARGETS[writer]
    old.write_bytes(b"the previous version")
    killed_while_writing(where, writer)

    assert old.read_bytes() == b"the previous version"
    leftovers = [p.name for p in where.iterdir() if p != old]
    assert len(leftovers) == 1
    found = files.temporary_of(leftovers[0])
    assert found is not None and found.target == TARGETS[writer]
    assert leftovers[0].startswith(f".{TARGETS[writer]}.{found.pid}.")
    assert found.pid != os.getpid()

    if writer == "frame cache":
        monkeypatch.setenv(storage.CACHE_ENV, str(where))
        (cache,) = [item for item in storage.stored() if item.label == "frame cache"]
        assert where / leftovers[0] in cache.paths
    else:
        assert folder.foreign_entries(where) == []  # the run's own: it can be deleted
        assert remove_leftovers(where) == leftovers  # and is cleared when the run resumes
        assert sorted(p.name for p in where.iterdir()) == [old.name]


def test_a_write_that_fails_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "record.json"
    files.atomic_write(path, lambda handle: handle.write("old"))

    def fails_half_way(handle):
        handle.write(b"half")
        raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space left"):
        files.atomic_write(path, fails_half_way, binary=True)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [path.name]
    files.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
