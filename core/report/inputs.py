"""What a report reads from one run: configuration, history, results per split, corpus.

Results come from the evaluation the run saved when it ended (``evaluation.json``, read
with :func:`core.kinds.results.read_evaluation`); a run without a current one is
evaluated here, in memory, and nothing is written into the run's folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.config import open_corpus
from core.evaluate import evaluate_run, missing_test_labels
from core.evaluation.metrics import aggregate_windows
from core.kinds import RunKind, kind_of
from core.kinds.results import SPLITS, read_evaluation, split_report
from core.report.predictions import Predictions
from core.runs import folder
from core.runs.status import read_status

log = logging.getLogger(__name__)


@dataclass
class RunInputs:
    """One run as a report sees it.

    Attributes
    ----------
    run_dir : pathlib.Path
    config : dict
        The run's configuration.
    kind : RunKind
    corpus : core.data.Corpus
        The run's corpus (its fold applied).
    reports : dict
        Split to its :func:`core.evaluate.evaluate_run` report, for the splits scored.
    split_notes : dict
        Split to why it has no report (no labels, or the error).
    history : list of dict
        The run's epoch records.
    status : dict
        The run's ``status.json``.
    """

    run_dir: Path
    config: dict[str, Any]
    kind: RunKind
    corpus: Any
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    split_notes: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run folder's name."""
        return self.run_dir.name

    def predictions(self, split: str) -> Predictions:
        """The participants of a scored split (a key of ``reports``; each report is non-empty)."""
        return Predictions.from_report(self.reports[split])


def _split_results(run_dir: Path) -> tuple[dict[str, dict], dict[str, str]]:
    saved = read_evaluation(run_dir)
    reports, notes = {}, {}
    for split in SPLITS:
        if saved is not None:
            entry = saved["splits"].get(split) or {}
            if report := split_report(saved, split):
                reports[split] = report
            else:
                notes[split] = entry.get("no_labels") or entry.get("error") or "not evaluated"
            continue
        try:  # no current saved evaluation: evaluate in memory, write nothing
            why = missing_test_labels(folder.read_config(run_dir)) if split == "test" else None
            if why:
                notes[split] = why
            else:
                reports[split] = evaluate_run(run_dir, split)
        except (ValueError, OSError) as error:
            notes[split] = f"{type(error).__name__}: {error}"
    return reports, notes


def load_run(run_dir: str | Path) -> RunInputs:
    """Read one finished run for its report.

    Raises
    ------
    FileNotFoundError
        The folder holds no run configuration.
    ValueError
        The run has no scored split (no best model yet, or no labelled participant).
    """
    run_dir = Path(run_dir)
    if not (run_dir / folder.CONFIG).is_file():
        raise FileNotFoundError(f"{run_dir} holds no run ({folder.CONFIG} is missing)")
    config = folder.read_config(run_dir)
    kind = kind_of(run_dir)
    if kind.model_file(run_dir) is None:
        raise ValueError(f"{run_dir} has no saved model yet: let the run finish first")
    reports, notes = _split_results(run_dir)
    if not reports:
        raise ValueError(f"{run_dir}: no split could be scored ({notes})")
    return RunInputs(
        run_dir=run_dir,
        config=config,
        kind=kind,
        corpus=open_corpus(config),
        reports=reports,
        split_notes=notes,
        history=folder.read_metrics(run_dir),
        status=read_status(run_dir),
    )


def fitting_predictions(inputs: RunInputs) -> tuple[Predictions | None, str]:
    """The participants a calibration may be fitted on, and what they are, in words.

    A text run's out-of-fold training probabilities (each from a forest that never saw
    that participant); for other kinds, the best model's probabilities on its training
    split (in-sample, so more confident than on new participants). Never dev or test.
    """
    corpus = inputs.corpus
    if inputs.kind.document_level:
        from core.kinds.text_run import train_oof

        ids = np.array(corpus.ids("train", inputs.kind.name, labelled=True), dtype=np.int64)
        probs = train_oof(inputs.run_dir, ids)
        known = np.isfinite(probs)
        if not known.any():
            return None, "the run saved no out-of-fold training probabilities"
        ids = ids[known]
        note = (
            f"out-of-fold probabilities of the {len(ids)} training participants "
            "(each from a forest fitted without that participant)"
        )
        return Predictions(ids, corpus.labels(list(ids)), probs[known]), note
    try:
        scores = inputs.kind.score_split(inputs.kind.load(inputs.run_dir), "train")
        ids, probs, labels = aggregate_windows(scores.ids, scores.probs, scores.labels)
    except Exception as error:  # noqa: BLE001 - the report says why, the rest goes on
        log.warning("scoring the training split of %s failed: %s", inputs.run_dir, error)
        return None, f"the training split could not be scored ({type(error).__name__}: {error})"
    assert labels is not None  # the scores carry labels
    keep = labels >= 0
    note = (
        f"the best model's probabilities on its {int(keep.sum())} training participants "
        "(in-sample: more confident than on new participants, so the calibration "
        "corrects over-confidence less than it should)"
    )
    return Predictions(ids[keep], labels[keep], probs[keep]), note
