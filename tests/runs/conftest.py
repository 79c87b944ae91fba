import signal
from pathlib import Path

import pytest

from core.runs import folder, manager
from core.runs.status import process_of, status_file


@pytest.fixture
def runs_root(tmp_path: Path):
    """A runs root whose training processes are all killed at the end of the test."""
    root = tmp_path / "runs"
    root.mkdir()
    yield root
    for run_dir in filter(Path.is_dir, root.iterdir()):
        alive, pid, _ = process_of(run_dir, status_file(run_dir))
        if not alive:
            continue
        launcher = (folder.read_json(run_dir / folder.LAUNCHER) or {}).get("pid")
        for process in {launcher, pid} - {None}:
            manager._signal_process(process, signal.SIGKILL)
