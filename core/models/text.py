"""TF-IDF + Random Forest text model, out-of-fold probabilities and safe persistence.

One document per participant. Persistence uses skops (no pickle) plus a SHA-256 recorded
at save time and checked before loading.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from core.files import atomic_write_bytes

#: Types skops does not trust by default that a fitted text pipeline may contain.
ALLOWED_UNTRUSTED_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "scipy.sparse._csr.csr_matrix",
    }
)

_VOCAB_ERROR_MARKERS = ("no terms remain", "max_df corresponds", "empty vocabulary")


def make_text_pipeline(
    seed: int = 0,
    n_estimators: int = 100,
    min_df: int | float = 5,
    max_df: int | float = 0.75,
    ngram_range: tuple[int, int] = (1, 2),
    min_samples_split: int = 2,
    class_weight: str | dict | None = "balanced",
    n_jobs: int | None = 1,
) -> Pipeline:
    """Build the (unfitted) TF-IDF + Random Forest pipeline.

    Parameters
    ----------
    seed : int, default 0
        ``random_state`` of the forest.
    n_estimators : int, default 100
        Number of trees.
    min_df, max_df : int or float, default 5 and 0.75
        Document-frequency limits of the vocabulary (counts if int, fractions if float).
    ngram_range : tuple of int, default (1, 2)
        Word n-gram range.
    min_samples_split : int, default 2
        Minimum samples to split an internal node.
    class_weight : str, dict or None, default "balanced"
        Forest class weights.
    n_jobs : int or None, default 1
        Parallel jobs of the forest.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``tfidf`` and ``clf``; nested parameters read e.g. ``tfidf__min_df``.
    """
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    ngram_range=tuple(ngram_range),
                    stop_words="english",
                    sublinear_tf=True,
                    min_df=min_df,
                    max_df=max_df,
                ),
            ),
            (
                "clf",
                RandomForestClassifier(
                    n_estimators=n_estimators,
                    random_state=seed,
                    max_depth=None,
                    min_samples_split=min_samples_split,
                    class_weight=class_weight,
                    n_jobs=n_jobs,
                ),
            ),
        ]
    )


def _vocabulary_error(pipeline: Pipeline, n_documents: str, exc: ValueError) -> ValueError:
    """Translate scikit-learn's empty-vocabulary error into one that says what to do."""
    tfidf = pipeline.named_steps["tfidf"]
    return ValueError(
        f"The text vocabulary is empty: with {n_documents} training documents, "
        f"min_df={tfidf.min_df!r} and max_df={tfidf.max_df!r} (after removing English "
        "stop words) leave no terms. Lower min_df, raise max_df, or train on more "
        f"participants. (scikit-learn said: {exc})"
    )


def _is_vocabulary_error(exc: ValueError) -> bool:
    return any(marker in str(exc) for marker in _VOCAB_ERROR_MARKERS)


def fit_text_pipeline(
    pipeline: Pipeline, documents: Sequence[str], labels: Sequence[int] | np.ndarray
) -> Pipeline:
    """Fit ``pipeline`` and explain an empty vocabulary clearly.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        From :func:`make_text_pipeline`.
    documents : sequence of str
        One document per training participant.
    labels : sequence of int or numpy.ndarray
        PHQ8 binary labels (1 = depressed).

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline (the same object).

    Raises
    ------
    ValueError
        If ``min_df`` / ``max_df`` leave no terms for this corpus. Settings are never
        changed silently.
    """
    try:
        return pipeline.fit(list(documents), np.asarray(labels))
    except ValueError as exc:
        if _is_vocabulary_error(exc):
            raise _vocabulary_error(pipeline, str(len(documents)), exc) from exc
        raise


def out_of_fold_proba(
    pipeline: Pipeline,
    documents: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    n_splits: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Depressed-probabilities for training participants from models that never saw them.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Template; it is cloned, never fitted in place.
    documents : sequence of str
        One document per training participant.
    labels : sequence of int or numpy.ndarray
        Binary labels (0/1), both classes present.
    n_splits : int, default 5
        Folds of a shuffled ``StratifiedKFold``; reduced to the minority-class count when
        that is smaller.
    seed : int, default 0
        ``random_state`` of the fold shuffle.

    Returns
    -------
    numpy.ndarray
        Shape (n_participants,), probability of class 1 for each participant.

    Raises
    ------
    ValueError
        If a class has fewer than two participants, or a fold's vocabulary is empty.
    """
    y = np.asarray(labels).astype(int)
    if len(y) != len(documents):
        raise ValueError(f"Got {len(documents)} documents but {len(y)} labels.")
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError(f"Labels must be 0/1, got values {sorted(set(y.tolist()))}.")
    minority = int(min(np.sum(y == 0), np.sum(y == 1)))
    if minority < 2:
        raise ValueError(
            "Out-of-fold probabilities need at least two participants of each class; "
            f"got {int(np.sum(y == 1))} depressed and {int(np.sum(y == 0))} not depressed."
        )
    folds = StratifiedKFold(
        n_splits=max(2, min(n_splits, minority)), shuffle=True, random_state=seed
    )
    model = clone(pipeline)
    try:
        proba = cross_val_predict(model, list(documents), y, cv=folds, method="predict_proba")
    except ValueError as exc:
        if _is_vocabulary_error(exc):
            n_train = len(y) - -(-len(y) // folds.get_n_splits())
            raise _vocabulary_error(model, f"about {n_train} (per fold)", exc) from exc
        raise
    return proba[:, 1]


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def save_text_model(pipeline: Pipeline, path: str | os.PathLike) -> str:
    """Write a fitted pipeline with skops (atomically) and return its SHA-256.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted text pipeline.
    path : str or os.PathLike
        Destination file, conventionally ending in ``.skops``.

    Returns
    -------
    str
        Hex SHA-256 of the written file; record it and pass it to :func:`load_text_model`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # skops builds the archive in memory anyway
    sio.dump(pipeline, buffer)
    atomic_write_bytes(path, buffer.getbuffer())
    return hashlib.sha256(buffer.getbuffer()).hexdigest()


def load_text_model(path: str | os.PathLike, expected_sha256: str) -> Pipeline:
    """Load a pipeline written by :func:`save_text_model`, after checking it.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.skops`` file.
    expected_sha256 : str
        Hash returned by :func:`save_text_model` when the file was written.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the hash does not match (the file changed since it was saved), or the file
        holds types outside :data:`ALLOWED_UNTRUSTED_TYPES`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Text model file {path} does not exist.")
    actual = _sha256(path)
    if actual.lower() != str(expected_sha256).lower():
        raise ValueError(
            f"Text model file {path} does not match the SHA-256 recorded when it was saved "
            f"(expected {expected_sha256}, found {actual}); it was modified or replaced, so "
            "it will not be loaded. Retrain the text model."
        )
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = sorted(set(untrusted) - ALLOWED_UNTRUSTED_TYPES)
    if unexpected:
        raise ValueError(
            f"Text model file {path} contains types that are not allowed: {unexpected}. "
            "Only TF-IDF + Random Forest pipelines written by this app can be loaded."
        )
    model = sio.load(path, trusted=list(untrusted))
    if not isinstance(model, Pipeline):
        raise ValueError(f"Text model file {path} holds a {type(model).__name__}, not a Pipeline.")
    return model
