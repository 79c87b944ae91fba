"""What ``core.train`` and ``core.evaluate`` say to a new user: one line, never a traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import core.evaluate
import core.train
from core.config import make_config
from core.kinds import get_kind
from core.kinds.fusion_run import SourcesChanged
from core.runs import folder


def _fake_run(run_dir: Path, modality: str, state: str, data: Path, **sources: str) -> Path:
    """A run folder as a run that ended before saving a model leaves it (no checkpoint)."""
    run_dir.mkdir(parents=True)
    config = make_config(modality, data, {}, 0, sources or None)
    folder.write_config(run_dir, config)
    folder.write_status(run_dir, state, "stopped at epoch 0", owner=False)
    return run_dir


def test_evaluate_says_a_run_never_saved_a_model(tmp_path, capsys):
    run_dir = _fake_run(tmp_path / "runs" / "audio-empty", "audio", "failed", tmp_path)
    assert core.evaluate.main([str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "audio-empty never saved a model" in err
    assert "Traceback" not in err and "CheckpointError" not in err
    assert core.evaluate.main([str(run_dir), "--save"]) == 2
    assert "audio-empty never saved a model" in capsys.readouterr().err


def test_evaluate_says_in_one_line_that_a_fusions_sources_changed(tmp_path, capsys, monkeypatch):
    sources = {m: str(tmp_path / m) for m in ("audio", "face", "text")}
    run_dir = _fake_run(tmp_path / "fusion-x", "fusion", "completed", tmp_path, **sources)
    (run_dir / folder.BEST).write_bytes(b"a model")
    why = "the audio run audio-1 was retrained or resumed since; train a new fusion run"

    def load(*args, **kwargs):
        raise SourcesChanged(why)

    monkeypatch.setattr(get_kind("fusion"), "load", load)
    assert core.evaluate.main([str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {why}"


def test_train_refuses_cuda_without_a_gpu_before_creating_a_run(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    root = tmp_path / "runs"
    args = ["audio", "--device", "cuda", "--data", str(tmp_path), "--runs-root", str(root)]
    assert core.train.main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU is available" in err and "Traceback" not in err
    assert not root.exists() or not any(root.iterdir())


def test_a_resume_with_one_new_run_option_says_it_belongs_to_a_new_run(tmp_path, capsys):
    run_dir = _fake_run(tmp_path / "audio-stopped", "audio", "stopped", tmp_path)
    assert core.train.main(["--resume", str(run_dir), "--hidden-size", "16", "--quiet"]) == 2
    assert "--hidden-size belongs to a new run" in capsys.readouterr().err
    both = ["--hidden-size", "16", "--dropout", "0.2"]
    assert core.train.main(["--resume", str(run_dir), *both, "--quiet"]) == 2
    assert "--hidden-size, --dropout belong to a new run" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "600"])
def test_max_epochs_out_of_range_shows_the_real_range(tmp_path, capsys, value):
    args = ["audio", "--max-epochs", value, "--data", str(tmp_path)]
    assert core.train.main([*args, "--runs-root", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "allowed range 1 to 500" in err and "to any" not in err


def test_a_read_only_runs_root_is_one_message_saying_what_to_do(tmp_path, capsys, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.is_relative_to(root) and self != root:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    args = ["audio", "--data", str(tmp_path), "--runs-root", str(root), "--quiet"]
    assert core.train.main(args) == 2
    err = capsys.readouterr().err
    assert f"{root} is read-only" in err and "--runs-root" in err
    assert "Traceback" not in err and "Errno" not in err
