"""Which run, and which epoch of a run, is the best: chosen one way everywhere.

Runs on the corpus in use come first, then the lower best validation loss (the dev
participants' loss at the best epoch), then the newer run. The fusion's default source
runs (:func:`best_finished_run`) and the runs offered for explanation and prediction
(:func:`core.scoring.explainable_runs`) are both chosen with :func:`rank_key`. Within
a run, :func:`best_record` is the epoch whose weights the best checkpoint holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.kinds.corpus import corpus_key, run_corpus_key
from core.runs.state import SUCCEEDED
from core.runs.status import RunInfo, list_runs


def on_official_split(config: dict[str, Any]) -> bool:
    """Whether a run trained on the official training split (not a cross-validation fold).

    A fold's run (``data.assignment``) trained on some official dev participants, so it
    is never a fusion's source: the fusion is fitted on the training split and judged on
    dev, and a source that saw dev participants would leak them.
    """
    return not (config.get("data") or {}).get("assignment")


def rank_key(info: RunInfo, corpus: str) -> tuple:
    """Sort key of a run: other corpus last, then higher loss, then older.

    Parameters
    ----------
    info : RunInfo
        The run.
    corpus : str
        The :func:`core.kinds.corpus.corpus_key` of the corpus in use.
    """
    loss = info.best_val_loss if info.best_val_loss is not None else np.inf
    return (run_corpus_key(info.config) != corpus, loss, -(info.started or 0.0))


def best_finished_run(runs_root: Path, modality: str, data_root: str | Path | None) -> Path | None:
    """The finished run of ``modality`` on the same corpus with the lowest validation loss.

    Parameters
    ----------
    runs_root : pathlib.Path
        Where the run folders are.
    modality : str
        Which kind of run.
    data_root : str, pathlib.Path or None
        The corpus (None: the bundled sample).

    Returns
    -------
    pathlib.Path or None
        None when no run of that modality on that corpus has finished with a loss.
    """
    corpus = corpus_key(data_root)
    runs = [
        info
        for info in list_runs(Path(runs_root))
        if info.modality == modality
        and info.status in SUCCEEDED
        and on_official_split(info.config)
        and info.best_val_loss is not None
        and run_corpus_key(info.config) == corpus
    ]
    return min(runs, key=lambda info: rank_key(info, corpus)).path if runs else None


def best_record(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The epoch record whose weights the run's best checkpoint holds.

    The trainer writes the best epoch by its monitor (validation loss unless the run
    chose another) into every record as ``best_epoch``; the last record's names it.
    Records without it (hand-made, or older runs) give the epoch with the lowest
    validation loss (the first of equals).
    """
    if not records:
        return None
    best_epoch = records[-1].get("best_epoch")
    for record in records if best_epoch is not None else ():
        if record.get("epoch") == best_epoch:
            return record
    scored = [r for r in records if r.get("val_loss") is not None]
    return min(scored, key=lambda r: r["val_loss"]) if scored else None
