"""Participant-level metrics per subgroup (gender, ...), with bootstrap intervals.

The disaggregation and the bootstrap are fairlearn's :class:`~fairlearn.metrics.MetricFrame`
(``n_boot`` resamples of the participants with replacement, ``ci_quantiles`` for the
interval): every metric of every group, the overall value, and the difference between
groups (the largest gap between any two groups, fairlearn's ``between_groups``), each
with its percentile interval. A group too small to say anything gets a plain warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count
from scipy.stats import rankdata

THRESHOLD = 0.5
"""A participant is predicted depressed when their probability is at least this."""
MIN_GROUP = 10
"""A group with fewer participants than this is too small to say anything."""
MIN_PER_CLASS = 3
"""... and so is one with fewer depressed (or not depressed) participants than this."""
N_BOOT = 200
"""Bootstrap resamples of the subgroup intervals."""
LEVEL = 0.95
GROUP_NAMES: dict[str, dict[Any, str]] = {"gender": {0: "female", 1: "male"}}
"""How each label column's codes read (the label files code gender 1 = male, 0 = female)."""


def auroc(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Area under the ROC curve; NaN when the participants hold one class only.

    The Mann-Whitney form (ties count a half), equal to scikit-learn's
    ``roc_auc_score`` and a tenth of its cost, which matters once per resample.
    """
    y = np.asarray(y_true) == 1
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(np.asarray(y_prob, dtype=float))  # ties get their mean rank
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _counts(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, tn)`` at :data:`THRESHOLD` (plain counting: this runs per resample)."""
    y = np.asarray(y_true) == 1
    pred = np.asarray(y_prob) >= THRESHOLD
    return (
        int(np.sum(y & pred)),
        int(np.sum(~y & pred)),
        int(np.sum(y & ~pred)),
        int(np.sum(~y & ~pred)),
    )


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def macro_f1(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Mean of the two classes' F1 at :data:`THRESHOLD` (0 for a class never met or predicted)."""
    tp, fp, fn, tn = _counts(y_true, y_prob)
    f1_pos = _ratio(2 * tp, 2 * tp + fp + fn)
    f1_neg = _ratio(2 * tn, 2 * tn + fn + fp)
    return float((np.nan_to_num(f1_pos) + np.nan_to_num(f1_neg)) / 2)


def sensitivity(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Share of depressed participants predicted depressed; NaN without one."""
    tp, _, fn, _ = _counts(y_true, y_prob)
    return _ratio(tp, tp + fn)


def specificity(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Share of not-depressed participants predicted not depressed; NaN without one."""
    _, fp, _, tn = _counts(y_true, y_prob)
    return _ratio(tn, tn + fp)


def balanced_accuracy(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Mean recall of the classes present, at :data:`THRESHOLD` (as scikit-learn's)."""
    recalls = [r for r in (sensitivity(y_true, y_prob), specificity(y_true, y_prob)) if r == r]
    return float(np.mean(recalls)) if recalls else float("nan")


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "auroc": auroc,
    "macro_f1": macro_f1,
    "balanced_accuracy": balanced_accuracy,
    "sensitivity": sensitivity,
    "specificity": specificity,
}
"""The metrics reported per group (``y_pred`` is the depressed-probability)."""


def _depressed(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    return int(np.sum(np.asarray(y_true) == 1))


def _plain(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _size_warning(attribute: str, group: str, n: int, n_depressed: int) -> str | None:
    n_not = n - n_depressed
    if n >= MIN_GROUP and min(n_depressed, n_not) >= MIN_PER_CLASS:
        return None
    return (
        f"{attribute} = {group}: {n} participants ({n_depressed} depressed, {n_not} not) "
        f"is too small to say anything about this group (at least {MIN_GROUP}, with "
        f"{MIN_PER_CLASS} of each class, are needed); read its figures as anecdotes."
    )


def subgroup_metrics(
    labels: Sequence[int] | np.ndarray,
    probs: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | pd.Series,
    attribute: str = "gender",
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = LEVEL,
) -> dict[str, Any]:
    """Metrics per group of one attribute, with intervals, sizes and the gap between groups.

    Parameters
    ----------
    labels : array-like of int
        ``(P,)`` 0/1 label per participant.
    probs : array-like of float
        ``(P,)`` depressed-probability per participant.
    groups : array-like
        ``(P,)`` the participant's group (codes are named through :data:`GROUP_NAMES`);
        participants whose group is missing (None or NaN) are left out and counted.
    attribute : str, default "gender"
        The attribute's name.
    n_boot : int, default :data:`N_BOOT`
        Bootstrap resamples (fairlearn resamples all participants, then splits them).
    seed : int, default 0
        The bootstrap's seed; equal seeds give equal intervals.
    level : float, default 0.95
        Coverage of the intervals.

    Returns
    -------
    dict
        ``attribute``, ``metrics`` (names), ``overall`` and ``overall_interval`` (per
        metric), ``groups`` (one dict per group: ``group``, ``n``, ``n_depressed``,
        ``values``, ``intervals``, ``too_small``), ``difference`` and
        ``difference_interval`` (per metric, the largest gap between two groups),
        ``warnings``, ``left_out`` (participants without a group), ``n_boot`` and
        ``level``. Undefined values (e.g. AUROC of a one-class group) are None.

    Raises
    ------
    ValueError
        Lengths differ, labels are not 0/1, or no participant has a group.
    """
    y = np.asarray(labels)
    p = np.asarray(probs, dtype=float)
    g = pd.Series(np.asarray(groups, dtype=object), name=attribute)
    if not (y.shape == p.shape == g.shape) or y.ndim != 1:
        raise ValueError(
            f"labels {y.shape}, probs {p.shape} and {attribute} {g.shape} must be 1-D "
            "arrays of one length (one entry per participant)"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1, got {sorted(set(y.tolist()))}")
    known = g.notna().to_numpy()
    if not known.any():
        raise ValueError(f"no participant has a known {attribute}")
    names = GROUP_NAMES.get(attribute, {})
    g = g[known].map(lambda code: names.get(code, str(code))).reset_index(drop=True)
    y, p = y[known].astype(int), p[known]
    tail = (1 - level) / 2
    with warnings.catch_warnings():  # a tiny group's metric can be undefined in every resample
        warnings.simplefilter("ignore", category=RuntimeWarning)
        frame = MetricFrame(
            metrics=METRICS,
            y_true=y,
            y_pred=p,
            sensitive_features=g,
            n_boot=int(n_boot),
            ci_quantiles=[tail, 1 - tail],
            random_state=int(seed),
        )
    sizes = MetricFrame(
        metrics={"n": count, "n_depressed": _depressed}, y_true=y, y_pred=p, sensitive_features=g
    ).by_group
    lo, hi = frame.by_group_ci
    out_groups, notes = [], []
    for group in frame.by_group.index:
        n, n_depressed = int(sizes.loc[group, "n"]), int(sizes.loc[group, "n_depressed"])
        note = _size_warning(attribute, str(group), n, n_depressed)
        notes += [note] if note else []
        out_groups.append(
            {
                "group": str(group),
                "n": n,
                "n_depressed": n_depressed,
                "values": {m: _plain(frame.by_group.loc[group, m]) for m in METRICS},
                "intervals": {
                    m: [_plain(lo.loc[group, m]), _plain(hi.loc[group, m])] for m in METRICS
                },
                "too_small": note is not None,
            }
        )
    if len(out_groups) < 2:
        notes.append(f"only one {attribute} group is present: there is no difference to show")
    diff_lo, diff_hi = frame.difference_ci()
    overall_lo, overall_hi = frame.overall_ci
    return {
        "attribute": attribute,
        "metrics": list(METRICS),
        "overall": {m: _plain(frame.overall[m]) for m in METRICS},
        "overall_interval": {m: [_plain(overall_lo[m]), _plain(overall_hi[m])] for m in METRICS},
        "groups": out_groups,
        "difference": {m: _plain(frame.difference()[m]) for m in METRICS},
        "difference_interval": {m: [_plain(diff_lo[m]), _plain(diff_hi[m])] for m in METRICS},
        "warnings": notes,
        "left_out": int((~known).sum()),
        "n_boot": int(n_boot),
        "level": level,
    }


def group_columns(participants: Mapping[int, Any], ids: Sequence[int]) -> dict[str, list[Any]]:
    """The label columns that group ``ids`` (gender, and any other one the corpus holds).

    Parameters
    ----------
    participants : mapping
        Participant ID to :class:`core.data.corpus.Participant`.
    ids : sequence of int
        The participants, in order.

    Returns
    -------
    dict
        Attribute name to one value per participant (None where unknown); only
        attributes known for at least one participant.
    """
    out = {}
    for attribute in GROUP_NAMES:
        values = [getattr(participants.get(int(pid)), attribute, None) for pid in ids]
        if any(v is not None for v in values):
            out[attribute] = values
    return out
