"""Building a test fixture once for all the processes of a test session (pytest-xdist)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def shared_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test session that every pytest-xdist worker process sees."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The folder ``name``, built by ``build(folder)`` once for the whole test session.

    Several worker processes may ask at once: a file lock lets one build it, and the
    others wait and use it. A build that failed (no ``.complete`` marker) is redone.
    """
    folder = shared_base(tmp_path_factory) / f"shared-{name}"
    with FileLock(f"{folder}.lock"):
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".complete").touch()
    return folder
