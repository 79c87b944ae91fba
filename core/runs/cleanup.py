"""Leftovers of interrupted writes in a run folder, cleared when the run starts or resumes.

Every file a run writes is replaced through a temporary file beside it
(:func:`core.files.atomic_write`: ``.status.json.<pid>.<hex>.tmp``). A process killed in
the middle of such a write leaves its temporary file behind, and a checkpoint's can be as
large as the checkpoint. The training process clears them when it takes a run (holding
the run's training lock, so no other process writes checkpoints there); a temporary file
whose name carries the ID of another process still alive (the run manager writing a
status right now) is left alone. A checkpoint's or a text model's is always a leftover
(only the process holding the lock writes those), and so are those of older versions
(named by ``tempfile``, without a process ID).
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from core.files import temporary_of
from core.runs import folder

TRAINER_ONLY = frozenset({folder.LATEST, folder.BEST, folder.TEXT_MODEL})
"""Files only the process that trains the run writes (holding its training lock)."""


def _being_written(name: str) -> bool:
    """Whether another live process may be writing this temporary file right now."""
    found = temporary_of(name)
    if found is None or found.target in TRAINER_ONLY:  # an older version's, or ours
        return False
    return found.pid != os.getpid() and psutil.pid_exists(found.pid)


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
        if folder.temporary_target(entry.name) is None or entry.is_symlink():
            continue
        if entry.is_file() and not _being_written(entry.name):
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
