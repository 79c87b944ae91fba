"""Shared fixtures: small synthetic corpora written once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two cores are shared by pytest and torch; more threads only make tiny models slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-participant synthetic corpus (about 0.5 min per session), written once."""
    from core.data.synth import write_corpus

    root = tmp_path_factory.mktemp("corpus") / "daic"
    write_corpus(root, participants=24, minutes=0.5, seed=3)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the frame cache of every test out of the repository."""
    monkeypatch.setenv("DAIC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "frame-cache"))
