"""Leftovers of interrupted writes in a run folder, cleared when the run starts or resumes.

Every file a run writes is replaced through a temporary file beside it
(:func:`core.runs.folder.atomic_write`: ``.status.json.<pid>.<hex>.tmp``;
:func:`core.training.checkpoint.save_checkpoint`: ``.latest_checkpoint.pth.<random>.tmp``).
A process killed in the middle of such a write leaves its temporary file behind, and a
checkpoint's can be as large as the checkpoint. The training process clears them when it
takes a run (holding the run's training lock, so no other process writes checkpoints
there); a temporary file whose name carries the ID of a process still alive (the run
manager writing a status right now) is left alone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import psutil

from core.runs import folder

_WRITER = re.compile(r"(\d+)\.[0-9a-f]+")
"""The middle of an atomic write's temporary name: the writer's process ID and a token."""


def _being_written(middle: str) -> bool:
    """Whether another live process may be writing this temporary file right now."""
    match = _WRITER.fullmatch(middle)
    if not match:  # a checkpoint's: only the training process, this one, writes those
        return False
    pid = int(match.group(1))
    return pid != os.getpid() and psutil.pid_exists(pid)


def leftover_files(run_dir: Path) -> list[Path]:
    """Temporary files of interrupted writes in ``run_dir`` (sorted by name).

    Parameters
    ----------
    run_dir : pathlib.Path
        A run folder.

    Returns
    -------
    list of pathlib.Path
        Plain files named as a run file's temporary file, whose writer is gone.
    """
    found = []
    for entry in Path(run_dir).iterdir():
        middle = folder.temporary_part(entry.name)
        if middle is None or entry.is_symlink() or not entry.is_file():
            continue
        if not _being_written(middle):
            found.append(entry)
    return sorted(found)


def remove_leftovers(run_dir: Path) -> list[str]:
    """Delete the temporary files of interrupted writes in ``run_dir``.

    Call it only while holding the run's training lock
    (:func:`core.runs.supervisor.take_training_lock`).

    Parameters
    ----------
    run_dir : pathlib.Path
        A run folder.

    Returns
    -------
    list of str
        The names of the files removed.
    """
    removed = []
    for path in leftover_files(run_dir):
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
