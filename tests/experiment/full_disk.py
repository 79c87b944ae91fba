"""A full disk in a test's Dask workers: imported by each worker when it starts.

A test adds this module to :data:`core.experiment.engine.PRELOAD` and names a flag file
in ``$DAIC_TEST_FULL_DISK``: while the file exists, every checkpoint write in the worker
fails as on a full disk (``ENOSPC`` when its data is synced); removing the file frees
the space.
"""

from __future__ import annotations

import errno
import os

from core.training import checkpoint

FLAG = "DAIC_TEST_FULL_DISK"


class FullDisk:
    """``os`` as the checkpoint writer sees it: ``fsync`` fails while the flag exists."""

    def __getattr__(self, name: str):
        return getattr(os, name)

    @staticmethod
    def fsync(fd: int) -> None:
        flag = os.environ.get(FLAG)
        if flag and os.path.exists(flag):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)


checkpoint.os = FullDisk()
