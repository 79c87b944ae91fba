from pathlib import Path

import pytest


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty runs root that the pages read through ``$DAIC_RUNS_ROOT``."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(root))
    return root
