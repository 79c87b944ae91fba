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


@pytest.fixture(scope="session", autouse=True)
def _isolated_storage(tmp_path_factory: pytest.TempPathFactory):
    """Keep the frame cache and the generated sample in this session's temporary folder.

    Session-wide, so a server a test starts (the browser test) inherits it too: no test
    writes into the user's own ``~/.cache/daic-dashboard``.
    """
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAIC_CACHE_DIR", str(base / "frame-cache"))
        patch.setenv("DAIC_SAMPLE_DIR", str(base / "sample"))
        yield


@pytest.fixture(scope="session")
def planted_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus like the bundled sample (60 participants, 1 min, seed 0), written once."""
    from core.data.sample import SAMPLE_SETTINGS
    from core.data.synth import write_corpus

    root = tmp_path_factory.mktemp("planted") / "daic"
    write_corpus(root, **SAMPLE_SETTINGS)
    return root


@pytest.fixture(scope="session")
def trained_runs(planted_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real runs trained once on ``planted_corpus`` with default hyper-parameters.

    ``audio``, ``face`` (AUs, pose, gaze), ``face_aus`` (AUs only), ``text`` and
    ``fusion`` (of those audio, face and text runs); ``landmarks`` is a tiny face run
    with 2-D landmarks, for the face drawing (it learns little).
    """
    from core.train import main

    root = tmp_path_factory.mktemp("trained") / "runs"
    data = ["--data", str(planted_corpus), "--quiet", "--seed", "0"]
    runs = {name: root / name for name in ("text", "audio", "face", "face_aus", "landmarks")}
    plans = {
        "text": ["text"],
        "audio": ["audio"],
        "face": ["face"],
        "face_aus": ["face", "--face-features", "aus"],
        "landmarks": ["face", "--face-features", "aus,landmarks", "--hidden-size", "8"]
        + ["--max-epochs", "2"],
    }
    for name, args in plans.items():
        assert main([*args, *data, "--run-dir", str(runs[name])]) == 0, name
    runs["fusion"] = root / "fusion"
    sources = ["--audio-run", str(runs["audio"]), "--face-run", str(runs["face"])]
    sources += ["--text-run", str(runs["text"])]
    assert main(["fusion", *data, *sources, "--run-dir", str(runs["fusion"])]) == 0
    return runs
