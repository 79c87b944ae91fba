"""Replacing a file atomically: a reader sees the old file or the new one, never half.

Every file the app replaces in place (a run's status and checkpoints, the text model,
the frame cache, an experiment's records, the report) is written by :func:`atomic_write`:
the content goes to a temporary file beside the target, is flushed and fsynced, and is
renamed over the target (``os.replace``); the folder is then fsynced so that the rename
survives a power cut. On any error the temporary file is removed and the old file stays
as it was. A process killed mid-write leaves its temporary file behind; its name says
which file it was replacing and which process wrote it (:func:`temporary_of`), so that
whoever cleans up can tell a leftover from a write in progress:

    .<name>.<pid>.<hex>.tmp        e.g. .status.json.4242.9f3a01c7.tmp
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

SUFFIX = ".tmp"
"""How a temporary file's name ends."""
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.tmp")


class Temporary(NamedTuple):
    """What a temporary file's name says: the file it replaces, and who writes it."""

    target: str
    """The name of the file it is renamed to when the write completes."""
    pid: int
    """The ID of the process that writes it."""


def temporary_path(path: str | os.PathLike) -> Path:
    """A fresh temporary name beside ``path`` for this process to write it through.

    Parameters
    ----------
    path : str or os.PathLike
        The file to be replaced.

    Returns
    -------
    pathlib.Path
        ``.<name>.<pid>.<hex>.tmp`` in the same folder (so the rename stays on one file
        system, and is atomic).
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{SUFFIX}")


def temporary_of(name: str) -> Temporary | None:
    """What the name of a temporary file of :func:`atomic_write` says, else None.

    Parameters
    ----------
    name : str
        A file name (no folder).

    Returns
    -------
    Temporary or None
        The target's name and the writer's process ID; None for any other name.
    """
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return None
    return Temporary(match.group("target"), int(match.group("pid")))


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable where the platform allows it (POSIX)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Any], object],
    *,
    binary: bool = False,
    durable: bool = True,
) -> None:
    """Replace the file ``path`` so that readers see the old file or the new one.

    Parameters
    ----------
    path : str or os.PathLike
        The file to replace. Its folder must exist: a folder deleted from outside (a
        run's) is never recreated by a write.
    write : callable
        Writes the new content to the open handle it is given (text in UTF-8, or bytes
        when ``binary``).
    binary : bool, default False
        Open the temporary file in binary mode.
    durable : bool, default True
        Flush and fsync the file before the rename, and the folder after it. False only
        for what the app can rebuild (the frame cache), whose large writes stay fast;
        readers still never see half a file.

    Raises
    ------
    OSError
        The write failed (``errno.ENOSPC``: no space left on device); the old file is
        unchanged and the temporary file removed.
    """
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_folder(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """Replace ``path`` with ``data`` (:func:`atomic_write` in binary mode)."""
    atomic_write(path, lambda handle: handle.write(data), binary=True)
