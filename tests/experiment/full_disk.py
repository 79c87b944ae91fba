"""A full disk in a test's Dask workers: imported by each worker when it starts.

A test adds this module to :data:`core.experiment.engine.PRELOAD` and names a flag file
in ``$DAIC_TEST_FULL_DISK``: while the file exists, every checkpoint write in the worker
fails as on a full disk (``ENOSPC``); removing the file frees
the space.
"""

from __future__ import annotations

import errno
import os

from core.training import checkpoint

FLAG = "DAIC_TEST_FULL_DISK"


_write = checkpoint.atomic_write_bytes


def full_disk(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """The checkpoint's atomic write: ``ENOSPC`` while the flag file exists."""
    flag = os.environ.get(FLAG)
    if flag and os.path.exists(flag):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _write(path, data)


checkpoint.atomic_write_bytes = full_disk
