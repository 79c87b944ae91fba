"""Text runs: one document per participant, TF-IDF + Random Forest, no epochs.

A text run writes the same files as a neural run, so the dashboard treats it alike:
``metrics.jsonl`` holds one record (``epoch`` 1) whose ``train_loss`` is the log-loss of
the out-of-fold training probabilities and ``val_loss`` the dev log-loss. The fitted
pipeline is saved with skops and its sha256 recorded in ``model.json``, with the
fingerprint of the corpus it was fitted on (:mod:`core.kinds.fingerprint`); loading
checks the hash and the object types before anything is built.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline

from core.config import open_corpus
from core.data import Corpus, DataError
from core.data.text import participant_document
from core.kinds.callbacks import RunFolderWriter
from core.kinds.corpus import corpus_key
from core.kinds.fingerprint import corpus_fingerprint
from core.kinds.text import MODEL_INFO
from core.models.text import (
    fit_text_pipeline,
    load_text_model,
    make_text_pipeline,
    out_of_fold_proba,
    save_text_model,
)
from core.runs import folder
from core.training.history import epoch_record

MODEL_FILE = folder.TEXT_MODEL
OOF_FILE = folder.TEXT_OOF


def participant_documents(
    corpus: Corpus, split: str, speakers: str
) -> tuple[list[int], list[str], np.ndarray, dict[int, str]]:
    """Documents of a split's labelled participants who have a readable transcript.

    Returns
    -------
    ids : list of int
    documents : list of str
    labels : numpy.ndarray
        int64, one per participant.
    skipped : dict
        Participant ID to the problem that kept them out.
    """
    ids, docs, skipped = [], [], {}
    for pid in corpus.ids(split, "text", labelled=True):
        try:
            docs.append(participant_document(corpus.transcript(pid), speakers))
        except DataError as error:
            skipped[pid] = str(error)
            continue
        ids.append(pid)
    return ids, docs, corpus.labels(ids), skipped


@dataclass
class FittedOnce:
    """A text run as the trainer hooks see a run: one epoch, then done.

    A text run is fitted, not trained in epochs; seen this way, the same
    :class:`core.kinds.callbacks.RunFolderWriter` saves its record and status as it does
    for every other run.
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    epoch: int = 0
    n_epochs: int = 1
    status: str = "running"
    stop_reason: str | None = None

    @property
    def val_losses(self) -> list[float]:
        """Validation loss of each recorded epoch."""
        return [r["val_loss"] for r in self.history]


def _pipeline(config: dict[str, Any]) -> Pipeline:
    text = config["text"]
    return make_text_pipeline(
        seed=config["seed"],
        n_estimators=text["n_estimators"],
        min_df=text["min_df"],
        max_df=text["max_df"],
        ngram_range=(1, text["ngram_max"]),
        min_samples_split=text["min_samples_split"],
    )


def _log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(log_loss(labels, np.clip(probs, 1e-6, 1 - 1e-6), labels=[0, 1]))


def train_text(config: dict[str, Any], run_dir: Path) -> str:
    """Fit a text run in ``run_dir``; return its final state (``completed``)."""
    from core.evaluation.metrics import participant_metrics

    run_dir = Path(run_dir)
    started = time.monotonic()
    fit, writer = FittedOnce(), RunFolderWriter(run_dir)
    writer.on_train_begin(fit)
    corpus = open_corpus(config)
    speakers = config["text"]["speakers"]
    train_ids, train_docs, y_train, skipped = participant_documents(corpus, "train", speakers)
    dev_ids, dev_docs, y_dev, skipped_dev = participant_documents(corpus, "dev", speakers)
    pipeline = _pipeline(config)
    oof = out_of_fold_proba(pipeline, train_docs, y_train, seed=config["seed"])
    fit_text_pipeline(pipeline, train_docs, y_train)
    dev_probs = pipeline.predict_proba(dev_docs)[:, 1]
    digest = save_text_model(pipeline, run_dir / MODEL_FILE)
    folder.write_json_atomic(
        run_dir / MODEL_INFO,
        {
            "file": MODEL_FILE,
            "sha256": digest,
            "n_train": len(train_ids),
            "n_features": len(pipeline.named_steps["tfidf"].vocabulary_),
            "skipped": {str(k): v for k, v in {**skipped, **skipped_dev}.items()},
            "fingerprint": corpus_fingerprint(corpus, ("transcript",)),
        },
    )
    folder.write_json_atomic(
        run_dir / OOF_FILE, {str(pid): float(p) for pid, p in zip(train_ids, oof, strict=True)}
    )
    metrics = participant_metrics(y_dev, dev_probs)
    val_loss = _log_loss(y_dev, dev_probs)
    extras = {f"val_{k}": v for k, v in metrics.items()}
    record = epoch_record(
        1, _log_loss(y_train, oof), val_loss, None, time.monotonic() - started, extras
    )
    # Fitted once: that one epoch is the best, as early stopping would record it.
    record.update(best_val_loss=val_loss, best_epoch=1, improved=True, epochs_without_improvement=0)
    fit.history.append(record)
    fit.epoch = 1
    writer.on_epoch_end(fit, record)
    fit.status, fit.stop_reason = "completed", "fitted"
    writer.on_train_end(fit)
    return fit.status


def load_text_run(run_dir: Path) -> Pipeline:
    """Load a text run's fitted pipeline after checking its recorded hash."""
    info = folder.read_json(Path(run_dir) / MODEL_INFO)
    if info is None:
        raise FileNotFoundError(f"{run_dir}: no {MODEL_INFO}; the text run did not finish")
    return load_text_model(Path(run_dir) / info["file"], info["sha256"])


def predict_text(
    pipeline: Pipeline, corpus: Corpus, split: str, speakers: str
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Depressed-probabilities of a split's participants: ``(ids, probs, labels)``."""
    ids, docs, labels, _ = participant_documents(corpus, split, speakers)
    probs = pipeline.predict_proba(docs)[:, 1] if docs else np.zeros(0)
    return ids, probs, labels


def train_oof(run_dir: Path, ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """A text run's out-of-fold training probabilities for ``ids`` (NaN where absent)."""
    oof = folder.read_json(Path(run_dir) / OOF_FILE) or {}
    return np.array([oof.get(str(pid), np.nan) for pid in ids], dtype=np.float64)


def fusion_probabilities(
    run_dir: Path, corpus: Corpus, ids: Sequence[int], probs: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A text run's probabilities as the fusion's text input: out-of-fold where it can.

    A participant the run was trained on (same corpus, in its out-of-fold file) gets the
    out-of-fold probability instead of ``probs``: in-sample Random Forest probabilities
    are near-perfect and would teach the fusion to trust text blindly. Both the fusion's
    training inputs and the scoring of one participant come through here.

    Returns
    -------
    probs : numpy.ndarray
        ``(P,)`` float64.
    out_of_fold : numpy.ndarray
        ``(P,)`` bool, which of them are out-of-fold.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if corpus_key(folder.read_config(run_dir)["data"].get("root")) != corpus_key(corpus.root):
        return probs, np.zeros(len(probs), bool)
    oof = train_oof(run_dir, ids)
    used = np.isfinite(oof)
    return np.where(used, oof, probs), used


@dataclass
class TextScore:
    """A text run's view of one participant.

    Attributes
    ----------
    probability : float
        Depressed-probability from the fitted pipeline (NaN for an empty document).
    document : str
        The cleaned document the model read.
    """

    probability: float
    document: str


def score_text(
    run_dir: Path, corpus: Corpus, pid: int, pipeline: Pipeline | None = None
) -> TextScore:
    """The text run's depressed-probability for one participant's transcript.

    Parameters
    ----------
    run_dir : pathlib.Path
        Text run.
    corpus : Corpus
        Corpus holding the participant.
    pid : int
        Participant ID.
    pipeline : sklearn.pipeline.Pipeline, optional
        The run's fitted pipeline, when the caller has it loaded already.

    Raises
    ------
    DataError
        The transcript is missing or unreadable.
    FileNotFoundError
        The run has no fitted model.
    """
    config = folder.read_config(Path(run_dir))
    pipeline = pipeline or load_text_run(Path(run_dir))
    document = participant_document(corpus.transcript(pid), config["text"]["speakers"])
    if not document.strip():
        return TextScore(float("nan"), document)
    return TextScore(float(pipeline.predict_proba([document])[0, 1]), document)
