"""Explanations of the TF-IDF + Random Forest text model: which n-grams it uses, and where.

Views of one fitted pipeline (:func:`core.models.text.make_text_pipeline`):

- :func:`term_importances`: the forest's impurity-based (MDI) importances on the training
  documents, with how often each n-gram occurs and which class it is more frequent in. MDI
  is cheap but measured on the data the trees were grown on, so it flatters n-grams the
  forest memorised;
- :func:`permutation_importances`: the drop in ROC AUC on *held-out* participants when one
  n-gram's TF-IDF column is shuffled across them, for a short list of n-grams;
- where those n-grams occur in a transcript: :mod:`core.explain.highlight`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.inspection import permutation_importance
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from core.errors import InvalidRequest

DEPRESSED, NOT_DEPRESSED = "depressed", "not depressed"
"""Values of the ``points_to`` column of :func:`term_importances`."""

# --- checks ----------------------------------------------------------------------------


def _text_steps(pipeline: Pipeline) -> tuple[TfidfVectorizer, Any]:
    """The fitted ``tfidf`` and ``clf`` steps, or an error that says what was expected."""
    steps = getattr(pipeline, "named_steps", {})
    if "tfidf" not in steps or "clf" not in steps:
        raise ValueError(
            f"Expected the text model's Pipeline with steps 'tfidf' and 'clf' "
            f"(core.models.text.make_text_pipeline), got {type(pipeline).__name__}."
        )
    tfidf, clf = steps["tfidf"], steps["clf"]
    check_is_fitted(tfidf, "vocabulary_")
    check_is_fitted(clf)
    return tfidf, clf


def as_vectorizer(vectorizer: TfidfVectorizer | Pipeline) -> TfidfVectorizer:
    """Accept the fitted vectorizer itself or the pipeline that holds it as ``tfidf``."""
    steps = getattr(vectorizer, "named_steps", None)
    if steps is not None:
        if "tfidf" not in steps:
            raise ValueError("The pipeline has no 'tfidf' step to take the analyzer from.")
        vectorizer = steps["tfidf"]
    if getattr(vectorizer, "analyzer", None) != "word" or vectorizer.tokenizer is not None:
        raise ValueError(
            "Highlighting needs a word vectorizer that tokenizes with its token_pattern "
            "(analyzer='word', no custom tokenizer), like the text model's TfidfVectorizer."
        )
    return vectorizer


def _binary_labels(
    documents: Sequence[str], labels: Sequence[int] | np.ndarray, needed_for: str
) -> np.ndarray:
    """0/1 labels, one per document, with both classes present."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(documents):
        raise ValueError(
            f"Got {len(documents)} documents but {y.size} labels: give one PHQ8 binary label "
            "(1 = depressed, 0 = not depressed) per document, in the same order."
        )
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(
            f"Labels must be 0 (not depressed) or 1 (depressed), got {sorted(values)}."
        )
    if values != {0, 1}:
        only = DEPRESSED if values == {1} else NOT_DEPRESSED
        raise InvalidRequest(
            f"{needed_for} needs participants of both classes, but all {len(y)} given are "
            f"{only}. Use a split (or more participants) with depressed and not depressed."
        )
    return y.astype(np.int64)


# --- impurity importances --------------------------------------------------------------


def term_importances(
    pipeline: Pipeline,
    documents: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    top_k: int = 30,
) -> pd.DataFrame:
    """The forest's top n-grams by impurity importance, with where they occur.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted text pipeline (steps ``tfidf`` and ``clf``).
    documents : sequence of str
        The training documents the pipeline was fitted on (one per participant).
    labels : sequence of int or numpy.ndarray
        Their PHQ8 binary labels (1 = depressed, 0 = not depressed); both classes needed.
    top_k : int, default 30
        How many n-grams to return (all of them if the vocabulary is smaller).

    Returns
    -------
    pandas.DataFrame
        One row per n-gram, by ``importance`` descending (ties in vocabulary order), with
        columns ``term``; ``importance`` (mean decrease in impurity; all terms sum to 1);
        ``doc_freq`` (documents containing the term) and ``doc_share`` (that over the
        number of documents); ``mean_tfidf_depressed`` and ``mean_tfidf_not`` (mean TF-IDF
        in each class); ``points_to`` (``"depressed"`` where the depressed mean is larger,
        else ``"not depressed"``).

    Raises
    ------
    ValueError
        ``documents`` and ``labels`` differ in length, labels are not 0/1 or hold one
        class only, ``top_k`` is below 1, or ``pipeline`` is not a fitted text pipeline.
    """
    tfidf, clf = _text_steps(pipeline)
    y = _binary_labels(documents, labels, "Comparing the classes' TF-IDF")
    if top_k < 1:
        raise ValueError(f"top_k={top_k}: ask for at least one term.")
    names = tfidf.get_feature_names_out()
    importances = np.asarray(clf.feature_importances_)  # (V,)
    top = np.argsort(-importances, kind="stable")[:top_k]  # vocabulary order breaks ties
    tfidf_top = tfidf.transform(list(documents)).tocsr()[:, top]  # (n_docs, k)
    doc_freq = np.asarray((tfidf_top > 0).sum(axis=0)).ravel()  # (k,)
    depressed = np.asarray(tfidf_top[np.flatnonzero(y == 1)].mean(axis=0)).ravel()  # (k,)
    not_depressed = np.asarray(tfidf_top[np.flatnonzero(y == 0)].mean(axis=0)).ravel()
    return pd.DataFrame(
        {
            "term": names[top].astype(str),
            "importance": importances[top].astype(np.float64),
            "doc_freq": doc_freq.astype(np.int64),
            "doc_share": doc_freq / len(y),
            "mean_tfidf_depressed": depressed,
            "mean_tfidf_not": not_depressed,
            "points_to": np.where(depressed > not_depressed, DEPRESSED, NOT_DEPRESSED),
        }
    )


# --- permutation importances -----------------------------------------------------------


class _ChosenColumns(ClassifierMixin, BaseEstimator):
    """The fitted forest seen through a few TF-IDF columns, the others held fixed.

    ``permutation_importance`` needs a dense ``X``; this lets it shuffle a small dense
    matrix of the chosen columns while the forest still reads the full sparse matrix.

    Parameters
    ----------
    forest : RandomForestClassifier
        The fitted ``clf`` step.
    rest : scipy.sparse.csr_matrix
        (n_docs, V) TF-IDF of the documents with the chosen columns zeroed.
    scatter : scipy.sparse.csr_matrix
        (k, V) with a single 1 per row, at the vocabulary index of each chosen column.
    """

    def __init__(self, forest: Any, rest: sparse.csr_matrix, scatter: sparse.csr_matrix) -> None:
        self.forest = forest
        self.rest = rest
        self.scatter = scatter

    def fit(
        self, chosen: np.ndarray | None = None, labels: np.ndarray | None = None
    ) -> _ChosenColumns:
        """Nothing to learn (the forest is already fitted); present for the estimator API."""
        return self

    @property
    def classes_(self) -> np.ndarray:
        """The forest's classes, for the ROC AUC scorer's positive label."""
        return self.forest.classes_

    def predict_proba(self, chosen: np.ndarray) -> np.ndarray:
        """Class probabilities with ``chosen`` (n_docs, k) written into the full matrix."""
        full = self.rest + sparse.csr_matrix(chosen) @ self.scatter  # (n_docs, V)
        return self.forest.predict_proba(full)  # (n_docs, 2)


def _split_columns(
    full: sparse.csr_matrix, columns: np.ndarray
) -> tuple[np.ndarray, sparse.csr_matrix, sparse.csr_matrix]:
    """Split ``full`` so that ``rest + csr(chosen) @ scatter == full``."""
    k, n_terms = len(columns), full.shape[1]
    chosen = full[:, columns].toarray()  # (n_docs, k)
    rest = full.copy()  # (n_docs, V)
    rest.data[np.isin(rest.indices, columns)] = 0.0
    rest.eliminate_zeros()
    scatter = sparse.csr_matrix((np.ones(k), (np.arange(k), columns)), shape=(k, n_terms))
    return chosen, rest, scatter  # scatter: (k, V)


def permutation_importances(
    pipeline: Pipeline,
    documents: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    terms: Iterable[str],
    n_repeats: int = 30,
    seed: int = 0,
) -> pd.DataFrame:
    """Drop in held-out ROC AUC when one n-gram's TF-IDF is shuffled across participants.

    Each term's column of the documents' TF-IDF matrix is permuted across the documents
    ``n_repeats`` times (:func:`sklearn.inspection.permutation_importance`); every other
    column is left as it is. A term that occurs in none of the documents has a constant
    column, so its importance is exactly 0.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted text pipeline (steps ``tfidf`` and ``clf``).
    documents : sequence of str
        Documents of participants the pipeline was *not* fitted on (e.g. the dev split);
        on training documents the forest's near-perfect fit hides what it generalises.
    labels : sequence of int or numpy.ndarray
        Their PHQ8 binary labels; both classes needed (ROC AUC).
    terms : iterable of str
        N-grams from the vectorizer's vocabulary, spelled as it spells them (for example
        the ``term`` column of :func:`term_importances`); repeats are dropped.
    n_repeats : int, default 30
        Shuffles per term.
    seed : int, default 0
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        One row per term, in the order given, with columns ``term``, ``importance_mean``
        and ``importance_std`` (over the shuffles; positive means the forest relies on the
        term), and ``baseline_auc`` (the unshuffled ROC AUC, the same on every row).

    Raises
    ------
    ValueError
        Unknown terms (named in the message), no terms, ``documents`` and ``labels`` of
        different lengths, labels not 0/1 or of one class only, or ``pipeline`` not a
        fitted text pipeline.
    """
    tfidf, clf = _text_steps(pipeline)
    y = _binary_labels(documents, labels, "Permutation importance (ROC AUC)")
    terms = list(dict.fromkeys(terms))
    if not terms:
        raise ValueError("Give at least one term to measure.")
    unknown = [term for term in terms if term not in tfidf.vocabulary_]
    if unknown:
        raise ValueError(
            f"Not in the text model's vocabulary: {unknown}. Use terms as the vectorizer "
            "spells them (lower case, stop words removed), e.g. from term_importances."
        )
    columns = np.array([tfidf.vocabulary_[term] for term in terms])  # (k,)
    full = tfidf.transform(list(documents)).tocsr()  # (n_docs, V)
    chosen, rest, scatter = _split_columns(full, columns)
    model = _ChosenColumns(clf, rest, scatter)
    result = permutation_importance(
        model, chosen, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed
    )
    baseline = float(get_scorer("roc_auc")(model, chosen, y))
    return pd.DataFrame(
        {
            "term": pd.Series(terms, dtype=str),
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
            "baseline_auc": baseline,
        }
    )
