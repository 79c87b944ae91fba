"""Comparing two runs or configurations scored on the same participants.

:func:`align` pairs two per-participant prediction sets (the ``participants`` list of an
``evaluation.json``) on the participants they share; :func:`paired_bootstrap` resamples
those participants once for both, so the interval is that of the *difference*;
:func:`delong` is DeLong's test for two correlated AUROCs (DeLong, DeLong and
Clarke-Pearson 1988) computed with the midrank algorithm of Sun and Xu (2014);
:func:`plain_sentence` says the answer in words. All returned values are plain Python
types (JSON-serialisable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy.stats import norm, rankdata

from core.evaluation.metrics import BOOTSTRAP_METRICS, _as_labels, _as_probs, participant_metrics
from core.evaluation.pooling import participant_row, resampled_metric

METRIC_LABELS = {
    "macro_f1": "macro-F1",
    "f1_depressed": "F1 (depressed)",
    "f1_not_depressed": "F1 (not depressed)",
    "balanced_accuracy": "balanced accuracy",
    "auroc": "AUROC",
}
"""How sentences and tables name the metrics that can be compared."""


class Aligned(NamedTuple):
    """Two prediction sets on their common participants, in one order."""

    ids: list
    """Participant IDs, sorted."""
    y: np.ndarray
    """Label per participant, shape (n,)."""
    p_a: np.ndarray
    """A's depressed-probability per participant, shape (n,)."""
    p_b: np.ndarray
    """B's depressed-probability per participant, shape (n,)."""
    only_a: list
    """Participants A scored and B did not (left out)."""
    only_b: list
    """Participants B scored and A did not (left out)."""


def _by_id(rows: Iterable[Mapping], name: str) -> dict:
    out: dict = {}
    for k, row in enumerate(rows):
        pid, label, prob = participant_row(row, k, name)
        if pid in out:
            raise ValueError(f"{name}: participant {pid!r} appears more than once.")
        out[pid] = (label, prob)
    return out


def _sort_key(pid: object) -> tuple:
    return (isinstance(pid, str), pid if not isinstance(pid, str) else str(pid))


def align(
    a: Iterable[Mapping],
    b: Iterable[Mapping],
    name_a: str = "A",
    name_b: str = "B",
) -> Aligned:
    """Pair two per-participant prediction sets on the participants they share.

    Parameters
    ----------
    a, b : iterable of mapping
        Rows ``{"id", "label", "prob"}``, as in the ``participants`` list of an
        ``evaluation.json``.
    name_a, name_b : str
        Names used in error messages.

    Returns
    -------
    Aligned
        The common participants (sorted), their labels and both probabilities, and the
        participants only one side scored.

    Raises
    ------
    ValueError
        When a row is malformed or repeated, when the two sets share no participant, or
        when they give a common participant different labels (they were not scored
        against the same labels, so they cannot be compared).
    """
    rows_a, rows_b = _by_id(a, name_a), _by_id(b, name_b)
    common = sorted(rows_a.keys() & rows_b.keys(), key=_sort_key)
    if not common:
        raise ValueError(
            f"{name_a} and {name_b} share no participant: they were scored on different "
            "participants and cannot be compared."
        )
    disagree = [pid for pid in common if rows_a[pid][0] != rows_b[pid][0]]
    if disagree:
        raise ValueError(
            f"{name_a} and {name_b} give different labels to participant(s) {disagree}: "
            "they were not scored against the same labels and cannot be compared."
        )
    return Aligned(
        ids=common,
        y=_as_labels([rows_a[pid][0] for pid in common]),
        p_a=np.array([rows_a[pid][1] for pid in common]),
        p_b=np.array([rows_b[pid][1] for pid in common]),
        only_a=sorted(rows_a.keys() - rows_b.keys(), key=_sort_key),
        only_b=sorted(rows_b.keys() - rows_a.keys(), key=_sort_key),
    )


def paired_bootstrap(
    y: Sequence[int] | np.ndarray,
    p_a: Sequence[float] | np.ndarray,
    p_b: Sequence[float] | np.ndarray,
    metric: str = "macro_f1",
    n_boot: int = 2000,
    seed: int = 0,
    threshold: float = 0.5,
    level: float = 0.95,
) -> dict:
    """Paired bootstrap over participants of the difference A − B on one metric.

    Each resample draws participants with replacement once and scores both A and B on
    it, so what varies between A and B is the predictions, not the participants.

    Parameters
    ----------
    y : array-like of int
        Labels of the common participants, 1 = depressed.
    p_a, p_b : array-like of float
        A's and B's depressed-probability per participant, aligned to ``y``.
    metric : str, default "macro_f1"
        One of :data:`METRIC_LABELS`.
    n_boot : int, default 2000
        Number of resamples.
    seed : int, default 0
        Seed of the resampling generator; equal seeds give equal results.
    threshold : float, default 0.5
        Decision threshold for the thresholded metrics.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    dict
        ``metric``, ``n`` (participants), ``a`` and ``b`` (the metric of each on all
        participants), ``difference`` (``a - b``), ``ci_low`` and ``ci_high`` (percentile
        interval of the resampled differences), ``share_a_better`` (share of resamples
        where A beats B strictly), ``n_boot`` (resamples where the metric is defined) and
        ``level``.

    Raises
    ------
    ValueError
        On an unknown metric, bad arrays, ``n_boot < 1`` or a level outside (0, 1).
    """
    if metric not in BOOTSTRAP_METRICS:
        raise ValueError(f"metric must be one of {list(BOOTSTRAP_METRICS)}, got {metric!r}.")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    labels = _as_labels(y)
    a = _as_probs(p_a, labels.size)
    b = _as_probs(p_b, labels.size)
    n = labels.size
    rng = np.random.default_rng(seed)
    # Resampling n participants with replacement == multinomial counts per participant.
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)  # (n_boot, n)
    diff = resampled_metric(metric, labels, a, counts, threshold) - resampled_metric(
        metric, labels, b, counts, threshold
    )
    diff = diff[np.isfinite(diff)]
    point_a = participant_metrics(labels, a, threshold)[metric]
    point_b = participant_metrics(labels, b, threshold)[metric]
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(diff, [tail, 100 - tail]) if diff.size else (np.nan, np.nan)
    return {
        "metric": metric,
        "n": int(n),
        "a": float(point_a),
        "b": float(point_b),
        "difference": float(point_a - point_b),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "share_a_better": float(np.mean(diff > 0)) if diff.size else float("nan"),
        "n_boot": int(diff.size),
        "level": float(level),
    }


def delong(
    y: Sequence[int] | np.ndarray,
    p_a: Sequence[float] | np.ndarray,
    p_b: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> dict:
    """DeLong's test for the difference of two correlated AUROCs.

    The structural components of DeLong et al. (1988) are computed from midranks as in
    Sun and Xu (2014): O(n log n) instead of comparing every depressed participant with
    every other one.

    Parameters
    ----------
    y : array-like of int
        Labels of the common participants, 1 = depressed; both classes, at least two
        participants each.
    p_a, p_b : array-like of float
        A's and B's depressed-probability per participant, aligned to ``y``.
    level : float, default 0.95
        Coverage of the normal interval of the difference.

    Returns
    -------
    dict
        ``metric`` ("auroc"), ``n``, ``a`` and ``b`` (the two AUROCs), ``var_a`` and
        ``var_b``, ``covariance``, ``difference`` (``a - b``), ``se`` (its standard
        error), ``z``, ``p`` (two-sided), ``ci_low`` and ``ci_high``, ``level``. When
        the difference has no variance (for example identical scores) ``z`` is 0 and
        ``p`` is 1 if the AUROCs are equal.

    Raises
    ------
    ValueError
        On bad arrays or fewer than two participants of either class.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}.")
    labels = _as_labels(y)
    scores = np.vstack([_as_probs(p_a, labels.size), _as_probs(p_b, labels.size)])  # (2, n)
    pos, neg = scores[:, labels == 1], scores[:, labels == 0]  # (2, m), (2, k)
    m, k = pos.shape[1], neg.shape[1]
    if m < 2 or k < 2:
        raise ValueError(
            f"DeLong's test needs at least two participants of each class, got {m} depressed "
            f"and {k} not depressed."
        )
    rank_pos = rankdata(pos, axis=1)  # midranks within the depressed
    rank_neg = rankdata(neg, axis=1)  # midranks within the not depressed
    rank_all = rankdata(np.hstack([pos, neg]), axis=1)  # midranks over everyone
    auc = (rank_all[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * k)  # (2,)
    v10 = (rank_all[:, :m] - rank_pos) / k  # (2, m): each depressed participant's component
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m  # (2, k): each other participant's
    cov = np.cov(v10) / m + np.cov(v01) / k  # (2, 2)
    difference = float(auc[0] - auc[1])
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(variance, 0.0)))
    if se > 0:
        z = difference / se
        p = float(2 * norm.sf(abs(z)))
    else:
        z, p = (0.0, 1.0) if difference == 0 else (float(np.copysign(np.inf, difference)), 0.0)
    half = float(norm.ppf(0.5 + level / 2)) * se
    return {
        "metric": "auroc",
        "n": int(labels.size),
        "a": float(auc[0]),
        "b": float(auc[1]),
        "var_a": float(cov[0, 0]),
        "var_b": float(cov[1, 1]),
        "covariance": float(cov[0, 1]),
        "difference": difference,
        "se": se,
        "z": float(z),
        "p": p,
        "ci_low": difference - half,
        "ci_high": difference + half,
        "level": float(level),
    }


def plain_sentence(result: Mapping, name_a: str, name_b: str, metric: str | None = None) -> str:
    """Say a comparison's answer in plain words.

    Parameters
    ----------
    result : mapping
        A :func:`paired_bootstrap` or :func:`delong` result (``difference``, ``ci_low``,
        ``ci_high``, ``n``).
    name_a, name_b : str
        How to call A and B.
    metric : str, optional
        The metric compared; ``result["metric"]`` when omitted.

    Returns
    -------
    str
        For example "A's macro-F1 is higher by 0.06 [-0.04, 0.15]: not distinguishable
        on these 35 participants". The sentence names whichever is higher, with the
        interval of that one minus the other; the two are distinguishable when the
        interval excludes 0.
    """
    metric = metric or str(result["metric"])
    label = METRIC_LABELS.get(metric, metric)
    diff, lo, hi, n = result["difference"], result["ci_low"], result["ci_high"], result["n"]
    if not np.isfinite(diff):
        return f"The {label} of {name_a} and {name_b} cannot be compared on these {n} participants."
    higher, lower = (name_a, name_b) if diff >= 0 else (name_b, name_a)
    if diff < 0:
        diff, lo, hi = -diff, -hi, -lo
    interval = f"[{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) and np.isfinite(hi) else "[no interval]"
    if lo > 0 or hi < 0:
        verdict = f"{higher} is better on these {n} participants"
    else:
        verdict = f"not distinguishable on these {n} participants"
    if diff == 0:
        return f"{name_a} and {name_b} have the same {label}, difference 0.00 {interval}: {verdict}"
    return f"{higher}'s {label} is higher than {lower}'s by {diff:.2f} {interval}: {verdict}"
