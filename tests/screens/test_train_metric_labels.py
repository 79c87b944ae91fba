"""The Train page's figures have labels short enough to be read whole.

Reported: "validation balanced a..." (a metric label cut by its column). Each label is
short, under a heading that says what the group is; its full name is its help.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import make_config
from core.runs import folder
from tests.screens.apptest import fresh_train_session

LONGEST = len("train, out-of-fold")  # fits a column of the run panel at 1280 pixels
SCORES = {
    "val_macro_f1": 0.61,
    "val_auroc": 0.7,
    "val_f1_depressed": 0.5,
    "val_f1_not_depressed": 0.72,
    "val_balanced_accuracy": 0.63,
}


def finished_run(root: Path, modality: str, record: dict) -> Path:
    run_dir = folder.new_run_dir(root, modality)
    folder.write_config(run_dir, make_config(modality, None, {}, 0))
    folder.rewrite_metrics(run_dir, [record])
    folder.write_status(run_dir, "completed", "done", owner=False, epoch=1)
    return run_dir


def open_train(corpus: Path) -> AppTest:
    return fresh_train_session(corpus)


def record(**extra) -> dict:
    base = {"epoch": 1, "train_loss": 0.6, "val_loss": 0.65, "lr": None, "elapsed_s": 2.0}
    return {**base, "best_val_loss": 0.65, "best_epoch": 1, **SCORES, **extra}


def test_a_text_runs_scores_have_short_labels_and_their_full_names_in_help(
    runs_root: Path, small_corpus: Path
) -> None:
    finished_run(runs_root, "text", record())
    at = open_train(small_corpus)
    metrics = {m.label: m for m in at.metric}
    assert "balanced accuracy" in metrics and metrics["balanced accuracy"].value == "0.630"
    assert all(len(label) <= LONGEST for label in metrics), list(metrics)
    helps = " ".join(m.proto.help for m in at.metric)
    for name in ("Validation balanced accuracy", "Validation macro-F1", "Training log-loss"):
        assert name in helps
    headings = " ".join(m.value for m in at.markdown)
    assert "Validation, per participant" in headings and "Log-loss" in headings


def test_an_audio_runs_progress_figures_have_short_labels(
    runs_root: Path, small_corpus: Path
) -> None:
    finished_run(runs_root, "audio", record(lr=1e-3, epochs_without_improvement=0))
    at = open_train(small_corpus)
    labels = [m.label for m in at.metric]
    assert "Elapsed" in labels and all(len(label) <= LONGEST for label in labels), labels
    assert any("Best validation loss" in m.proto.help for m in at.metric)
