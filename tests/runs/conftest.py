from pathlib import Path

import pytest

from core.runs import manager
from core.runs.status import judge


@pytest.fixture
def runs_root(tmp_path: Path):
    """A runs root whose training processes are all ended at the end of the test."""
    root = tmp_path / "runs"
    root.mkdir()
    yield root
    for run_dir in filter(Path.is_dir, root.iterdir()):
        if judge(run_dir).alive:
            manager.stop_run(run_dir, timeout_s=0)  # SIGTERM, then SIGKILL: no waiting
