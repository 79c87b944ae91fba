"""A real text run on the small corpus, trained once per test session for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sharing import built_once


@pytest.fixture(scope="session")
def report_text_run(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text run (participant words, ``min_df`` 2 for the tiny vocabulary) on ``small_corpus``."""
    from core.train import main

    def build(base: Path) -> None:
        args = ["text", "--data", str(small_corpus), "--run-dir", str(base / "text"), "--quiet"]
        assert main([*args, "--min-df", "2", "--seed", "0"]) == 0

    return built_once(tmp_path_factory, "report-text", build) / "text"
