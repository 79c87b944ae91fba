"""The small experiment, run once as the reference the interrupted ones must equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiment.helpers import write_spec


@pytest.fixture(scope="session")
def reference(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small experiment, run once on two local workers without interruption."""
    from core.config import make_config
    from core.experiment.__main__ import main
    from core.kinds.neural_run import prepare_windows

    # The frame cache is filled once here, not by two workers at the same time.
    prepare_windows(make_config("audio", small_corpus))
    base = tmp_path_factory.mktemp("experiment")
    spec = write_spec(base / "spec.toml")
    out = base / "reference"
    args = ["run", str(spec), "--data", str(small_corpus), "--out", str(out), "--workers", "2"]
    assert main(args) == 0
    return out
