"""A run's saved evaluation: the one place its result is kept and read back.

When a run ends, its training process evaluates the best model on the dev and test
splits (:func:`core.evaluate.evaluate_and_save`) and writes ``evaluation.json`` into the
run folder, keyed by what it was computed from (:func:`evaluation_key`: the best
model's file, the corpus's label files, a fusion's source models), so that a resumed run
that saves a better model is evaluated again when it ends, and an evaluation whose
labels or sources changed since reads as not evaluated. Everyone else
(the runs table, the pages) reads it with :func:`read_evaluation`, which never
evaluates anything. Light to import: no torch, no scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.kinds import best_model_file
from core.kinds.corpus import run_corpus_key
from core.kinds.fingerprint import file_sha256, labels_digest
from core.runs import folder

EVALUATION_FILE = folder.EVALUATION
"""Where a run's evaluation of its best model is saved (:func:`evaluate_and_save`)."""
SPLITS = ("dev", "test")
N_BOOT = 1000
"""Bootstrap resamples of the saved evaluation's intervals."""


def evaluation_key(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """What a saved evaluation was computed from, and must still match to be current.

    The best model's file name and sha256 (its checkpoint stores the fingerprint of the
    corpus it was trained on; the content, not the modification time, so a copied run
    or experiment, whose files have new times, keeps its evaluations); the sha256 of the
    corpus's label files (the participants' splits and labels the metrics use); for a
    fusion run, the sha256 of each source run's model (a retrained source changes the
    fusion's inputs); and ``n_boot``. A resumed run that saves a better model,
    relabelled participants or a retrained source make the saved evaluation stale.
    None without a best model.
    """
    run_dir = Path(run_dir)
    checkpoint = best_model_file(run_dir)
    if checkpoint is None:
        return None
    config = folder.read_config(run_dir)
    config = config if isinstance(config, dict) else {}
    key = {
        "checkpoint": checkpoint.name,
        "sha256": file_sha256(checkpoint),
        "n_boot": int(n_boot),
        "labels": labels_digest(run_corpus_key(config)),
    }
    if sources := config.get("sources"):
        key["sources"] = {m: _model_digest(run) for m, run in sorted(sources.items())}
    return key


def _model_digest(run_dir: str) -> str | None:
    """The sha256 of a run's best model file; None when it has none."""
    path = best_model_file(Path(run_dir)) if Path(run_dir).is_dir() else None
    return file_sha256(path) if path is not None else None


def read_evaluation(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """The saved evaluation of a run's current best model, or None (missing or stale).

    Returns
    -------
    dict or None
        ``key``, ``evaluated`` (seconds since the epoch) and ``splits``: for ``dev``
        and ``test`` one of ``{"report": ...}`` (a :func:`core.evaluate.evaluate_run` report),
        ``{"no_labels": why}`` (the split has no labels) or ``{"error": "Type:
        message"}`` (the evaluation failed; the run itself did not).
    """
    try:
        key = evaluation_key(run_dir, n_boot)
        saved = folder.read_json(Path(run_dir) / EVALUATION_FILE)
    except (OSError, ValueError):  # vanished, or not JSON: treat as not evaluated
        return None
    if key is None or not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return saved


def split_report(saved: dict[str, Any] | None, split: str) -> dict[str, Any] | None:
    """The report of one split of a saved evaluation, or None (no labels, error, none)."""
    return ((saved or {}).get("splits", {}).get(split) or {}).get("report")


def test_withheld(config: dict[str, Any]) -> str | None:
    """Why a run must not read the test split's labels, or None.

    The runs of an experiment's search (their configuration's ``experiment`` section)
    never evaluate the test split: only its promotion, at the end, does.
    """
    experiment = config.get("experiment")
    if not isinstance(experiment, dict) or experiment.get("role") == "promotion":
        return None
    return (
        f"not scored: a run of experiment {experiment.get('name')!r} never reads test labels "
        "(promoting the experiment scores the test split)"
    )
