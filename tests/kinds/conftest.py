"""A tiny audio run, trained once, that tests copy before they change anything."""

from pathlib import Path

import pytest

from tests.kinds.helpers import TINY, linked_copy
from tests.sharing import built_once


@pytest.fixture(scope="session")
def tiny_audio_run(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch tiny audio run on its own (linked) copy of the small corpus."""
    from core.train import main

    def build(base: Path) -> None:
        root = linked_copy(small_corpus, base / "daic")
        args = ["audio", "--data", str(root), "--run-dir", str(base / "audio"), "--quiet"]
        assert main([*args, *TINY, "--max-epochs", "1"]) == 0

    return built_once(tmp_path_factory, "tiny-audio", build) / "audio"
