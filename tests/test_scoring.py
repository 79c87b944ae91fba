"""Choosing runs to score with: runs on the corpus in use first, the sample included."""

from __future__ import annotations

from core import scoring
from core.config import make_config
from core.data import storage
from core.data.sample import sample_root
from core.kinds.choice import best_finished_run
from core.kinds.corpus import corpus_key
from core.runs import folder


def _finished_run(root, name, data_root, val_loss):
    """A finished audio run on ``data_root`` (None: the sample) with a saved best model."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config("audio", data_root))
    folder.write_status(run_dir, "completed", "on purpose")
    folder.append_metrics(run_dir, {"epoch": 1, "train_loss": 1.0, "val_loss": val_loss})
    (run_dir / folder.BEST).write_bytes(b"model")
    return run_dir


def test_runs_on_the_sample_are_runs_on_this_corpus_when_the_sample_is_open(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "sample-home"))
    other = tmp_path / "other-corpus"
    other.mkdir()
    runs = tmp_path / "runs"
    _finished_run(runs, "on-sample", None, val_loss=0.9)  # as the Train page records it
    _finished_run(runs, "elsewhere", other, val_loss=0.5)
    # The sidebar knows the open sample by its folder, not as None.
    chosen = scoring.explainable_runs(runs, "audio", str(sample_root()))
    assert [info.path.name for info in chosen] == ["on-sample", "elsewhere"]
    assert best_finished_run(runs, "audio", str(sample_root())).name == "on-sample"
    assert best_finished_run(runs, "audio", None).name == "on-sample"
    assert scoring.explainable_runs(runs, "audio", other)[0].path.name == "elsewhere"


def test_corpus_key_is_one_string_per_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "sample-home"))
    (tmp_path / "c").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "c")
    assert corpus_key(None) == corpus_key(sample_root()) == corpus_key(str(sample_root()))
    assert corpus_key(tmp_path / "link") == corpus_key(str(tmp_path / "c"))
    assert corpus_key(tmp_path / "c") != corpus_key(None)
