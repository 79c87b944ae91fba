from pathlib import Path

import pytest


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty runs root that the pages read through ``$DAIC_RUNS_ROOT``."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(root))
    return root


@pytest.fixture
def trained_root(trained_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runs root of the session's trained runs, read through ``$DAIC_RUNS_ROOT``."""
    root = trained_runs["audio"].parent
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(root))
    return root
