"""The small experiment, run once as the reference the interrupted ones must equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiment.helpers import write_spec
from tests.sharing import built_once


@pytest.fixture(scope="session")
def reference(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small experiment, run once on two local workers without interruption.

    Tests only read it; one that changes an experiment copies it first.
    """
    from core.config import make_config
    from core.experiment.__main__ import main
    from core.kinds.neural_run import prepare_windows

    def build(base: Path) -> None:
        # The frame cache is filled once here, not by two workers at the same time.
        prepare_windows(make_config("audio", small_corpus))
        spec = write_spec(base / "spec.toml")
        args = ["run", str(spec), "--data", str(small_corpus), "--out", str(base / "reference")]
        assert main([*args, "--workers", "2"]) == 0

    return built_once(tmp_path_factory, "experiment", build) / "reference"
