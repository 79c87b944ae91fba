"""Participant-level metrics, bootstrap intervals and trivial baselines.

Window scores are aggregated per participant first (docs/architecture.md, "Honest
evaluation"); every number here is per participant. All returned values are plain Python
types (JSON-serialisable).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

BOOTSTRAP_METRICS = ("macro_f1", "f1_depressed", "f1_not_depressed", "balanced_accuracy", "auroc")
BASELINE_NAMES = {
    "always_depressed": "always 'depressed'",
    "always_not_depressed": "always 'not depressed'",
}
"""How every screen and report names the trivial baselines of :func:`trivial_baselines`."""


def _as_labels(y: Sequence[int] | np.ndarray, name: str = "y_true") -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}.")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(arr).tolist()}.")
    return arr.astype(int)


def _as_probs(p: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"Expected {n} probabilities, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError("Probabilities contain NaN or infinite values.")
    return arr


def _plain_id(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def aggregate_windows(
    participant_ids: Sequence | np.ndarray,
    window_probs: Sequence[float] | np.ndarray,
    window_labels: Sequence[int] | np.ndarray | None = None,
    how: str = "mean",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Combine window-level depressed-probabilities into one score per participant.

    Parameters
    ----------
    participant_ids : array-like
        Participant ID of each window, shape (n_windows,).
    window_probs : array-like of float
        Depressed-probability of each window, shape (n_windows,).
    window_labels : array-like of int, optional
        Label of each window; all windows of a participant must share one label.
    how : {"mean", "median"}, default "mean"
        How to combine a participant's windows.

    Returns
    -------
    ids : numpy.ndarray
        Unique participant IDs, sorted.
    probs : numpy.ndarray
        Aggregated probability per participant, aligned to ``ids``.
    labels : numpy.ndarray or None
        Label per participant, or None when ``window_labels`` is None.

    Raises
    ------
    ValueError
        On length mismatch, an unknown ``how``, or a participant whose windows disagree
        on the label.
    """
    pid = np.asarray(participant_ids)
    probs = np.asarray(window_probs, dtype=float)
    if pid.ndim != 1 or pid.size == 0 or probs.shape != pid.shape:
        raise ValueError(
            f"participant_ids {pid.shape} and window_probs {probs.shape} must be non-empty "
            "1-D arrays of the same length."
        )
    if how not in ("mean", "median"):
        raise ValueError(f"how must be 'mean' or 'median', got {how!r}.")
    ids, inverse = np.unique(pid, return_inverse=True)
    if how == "mean":
        agg = np.bincount(inverse, weights=probs) / np.bincount(inverse)
    else:
        agg = np.array([np.median(probs[inverse == k]) for k in range(ids.size)])
    if window_labels is None:
        return ids, agg, None
    labels = np.asarray(window_labels)
    if labels.shape != pid.shape:
        raise ValueError(f"window_labels {labels.shape} must match participant_ids {pid.shape}.")
    labels = labels.astype(int)
    lo = np.full(ids.size, np.iinfo(int).max)
    hi = np.full(ids.size, np.iinfo(int).min)
    np.minimum.at(lo, inverse, labels)
    np.maximum.at(hi, inverse, labels)
    mixed = ids[lo != hi]
    if mixed.size:
        raise ValueError(
            f"Windows of participant(s) {mixed.tolist()} carry different labels; every window "
            "must inherit its participant's label."
        )
    return ids, agg, lo


def participant_metrics(
    y_true: Sequence[int] | np.ndarray,
    p_depressed: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> dict:
    """Classification metrics over participants.

    Parameters
    ----------
    y_true : array-like of int
        Labels, 1 = depressed.
    p_depressed : array-like of float
        Depressed-probability per participant.
    threshold : float, default 0.5
        Predict depressed when ``p_depressed >= threshold``.

    Returns
    -------
    dict
        ``n``, ``n_depressed``, ``f1_depressed``, ``f1_not_depressed``, ``macro_f1``,
        ``precision`` and ``recall`` (depressed class), ``balanced_accuracy``, ``auroc``
        (NaN when only one class is present) and ``confusion_matrix`` as
        ``[[tn, fp], [fn, tp]]``.
    """
    y = _as_labels(y_true)
    p = _as_probs(p_depressed, y.size)
    pred = (p >= threshold).astype(int)
    f1_neg, f1_pos = f1_score(y, pred, labels=[0, 1], average=None, zero_division=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # single-class y_true
        balanced = balanced_accuracy_score(y, pred)
    auroc = float(roc_auc_score(y, p)) if np.unique(y).size == 2 else float("nan")
    cm = confusion_matrix(y, pred, labels=[0, 1])
    return {
        "n": int(y.size),
        "n_depressed": int(y.sum()),
        "f1_depressed": float(f1_pos),
        "f1_not_depressed": float(f1_neg),
        "macro_f1": float((f1_pos + f1_neg) / 2),
        "precision": float(precision_score(y, pred, pos_label=1, zero_division=0)),
        "recall": float(recall_score(y, pred, pos_label=1, zero_division=0)),
        "balanced_accuracy": float(balanced),
        "auroc": auroc,
        "confusion_matrix": [[int(v) for v in row] for row in cm],
    }


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)


def bootstrap_intervals(
    y_true: Sequence[int] | np.ndarray,
    p_depressed: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals, resampling participants with replacement.

    Parameters
    ----------
    y_true : array-like of int
        Labels, 1 = depressed.
    p_depressed : array-like of float
        Depressed-probability per participant.
    threshold : float, default 0.5
        Decision threshold, as in :func:`participant_metrics`.
    n_boot : int, default 1000
        Number of resamples.
    seed : int, default 0
        Seed of the resampling generator; equal seeds give equal intervals.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    dict of str to [float, float]
        ``[lo, hi]`` for macro_f1, f1_depressed, f1_not_depressed, balanced_accuracy and
        auroc. Resamples with one class are skipped for auroc; ``[nan, nan]`` if none
        remain.
    """
    y = _as_labels(y_true)
    p = _as_probs(p_depressed, y.size)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    n = y.size
    pos = y.astype(float)
    neg = 1.0 - pos
    pred = (p >= threshold).astype(float)
    rng = np.random.default_rng(seed)
    # Resampling n participants with replacement == multinomial counts per participant.
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)  # (n_boot, n)
    tp = counts @ (pos * pred)
    fn = counts @ (pos * (1 - pred))
    fp = counts @ (neg * pred)
    tn = counts @ (neg * (1 - pred))
    n_pos, n_neg = tp + fn, tn + fp
    f1_pos, f1_neg = _f1(tp, fp, fn), _f1(tn, fn, fp)
    # Balanced accuracy averages recall over the classes present (as scikit-learn does).
    rec_pos = np.divide(tp, n_pos, out=np.zeros(n_boot), where=n_pos > 0)
    rec_neg = np.divide(tn, n_neg, out=np.zeros(n_boot), where=n_neg > 0)
    n_present = (n_pos > 0).astype(float) + (n_neg > 0)
    balanced = (rec_pos + rec_neg) / n_present
    # AUROC of a weighted sample: P(score_pos > score_neg) + 0.5 P(tie), pairs weighted.
    wins = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])  # (n, n)
    pair_sum = np.einsum("bi,ij,bj->b", counts * pos, wins, counts * neg)
    both = (n_pos > 0) & (n_neg > 0)
    auroc = pair_sum[both] / (n_pos[both] * n_neg[both])
    samples = {
        "macro_f1": (f1_pos + f1_neg) / 2,
        "f1_depressed": f1_pos,
        "f1_not_depressed": f1_neg,
        "balanced_accuracy": balanced,
        "auroc": auroc,
    }
    tail = 100 * (1 - level) / 2
    out: dict[str, list[float]] = {}
    for name in BOOTSTRAP_METRICS:
        values = samples[name]
        if values.size == 0:
            out[name] = [float("nan"), float("nan")]
        else:
            lo, hi = np.percentile(values, [tail, 100 - tail])
            out[name] = [float(lo), float(hi)]
    return out


def trivial_baselines(y_true: Sequence[int] | np.ndarray) -> dict[str, dict]:
    """Metrics of the two constant classifiers, for comparison.

    Parameters
    ----------
    y_true : array-like of int
        Labels, 1 = depressed.

    Returns
    -------
    dict
        ``always_depressed`` and ``always_not_depressed`` (shown as
        :data:`BASELINE_NAMES` says), each a :func:`participant_metrics` dict.
    """
    y = _as_labels(y_true)
    return {
        "always_depressed": participant_metrics(y, np.ones(y.size)),
        "always_not_depressed": participant_metrics(y, np.zeros(y.size)),
    }


def evaluate(
    participant_ids: Sequence | np.ndarray,
    window_probs: Sequence[float] | np.ndarray,
    window_labels: Sequence[int] | np.ndarray,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Full participant-level evaluation of window-level predictions.

    Parameters
    ----------
    participant_ids : array-like
        Participant ID of each window.
    window_probs : array-like of float
        Depressed-probability of each window.
    window_labels : array-like of int
        Label of each window (its participant's label).
    threshold : float, default 0.5
        Decision threshold on the participant's mean probability.
    n_boot : int, default 1000
        Bootstrap resamples for the intervals.
    seed : int, default 0
        Bootstrap seed.

    Returns
    -------
    dict
        ``level`` ("participant"), ``metrics``, ``intervals``, ``baselines`` and
        ``participants`` (a list of ``{"id", "label", "prob"}``), all JSON-serialisable.
    """
    ids, probs, labels = aggregate_windows(participant_ids, window_probs, window_labels)
    if labels is None:  # only when no window labels were given, which this function needs
        raise ValueError("participant_report needs the windows' labels")
    return {
        "level": "participant",
        "metrics": participant_metrics(labels, probs, threshold),
        "intervals": bootstrap_intervals(labels, probs, threshold, n_boot=n_boot, seed=seed),
        "baselines": trivial_baselines(labels),
        "participants": [
            {"id": _plain_id(i), "label": int(lab), "prob": float(pr)}
            for i, lab, pr in zip(ids, labels, probs, strict=True)
        ],
    }
