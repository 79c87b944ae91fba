"""One user-facing error type: what pages catch and show instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import make_config
from core.data import DataError
from core.errors import InvalidRequest, UserError
from core.runs import folder, manager
from core.training.checkpoint import CheckpointError


def test_data_and_checkpoint_errors_are_user_errors() -> None:
    assert issubclass(DataError, UserError) and issubclass(CheckpointError, UserError)


def test_a_request_that_cannot_be_done_is_a_user_error(tmp_path: Path) -> None:
    run_dir = folder.new_run_dir(tmp_path, "text")
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config("text", None, {}))
    with pytest.raises(UserError, match="no epochs to resume") as caught:
        manager.resume_run(run_dir)
    assert isinstance(caught.value, InvalidRequest) and isinstance(caught.value, ValueError)
    with pytest.raises(UserError, match="is not a run folder"):
        manager.delete_run(tmp_path / "nothing-here")
