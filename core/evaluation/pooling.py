"""Pooling runs over seeds, and the one figure of a configuration scored over seeds.

A *configuration* (one set of settings) is trained once per seed, and with
cross-validation once per fold of each seed. :func:`pool_seeds` is the one place where
such runs are pooled, with one rule:

* a seed's runs are joined (each fold's run scores its own participants, out of fold);
  a participant scored by two runs of one seed (the same settings trained twice) gets
  the mean of their probabilities;
* only participants that **every** seed scored are kept (the others are listed in
  ``left_out``), so every seed is scored on the same participants;
* two runs that give one participant different labels are an error naming the
  participant and both runs: they were not scored against the same labels.

The configuration's figure (its *estimand*) is the **mean over seeds** of the
participant-level metric of each seed's pooled predictions (:func:`estimand`). Its 95 %
interval comes from one participant bootstrap in which each resample draws the same
participants for every seed and averages the metric over the seeds. :func:`paired_estimand`
compares two configurations the same way: one resample of the participants for both, the
difference of their two means over seeds. The seed-averaged ensemble (each participant's
probability averaged over the seeds, :meth:`SeedPool.ensemble`) is a different model and
a different figure: for thresholded metrics it can differ from the mean over seeds by
0.2 or more, so it is only ever shown as "ensemble of N seeds".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import InvalidRequest
from core.evaluation.metrics import participant_metrics

EPS = 1e-7
"""Probabilities are clipped to [EPS, 1 - EPS] for the cross-entropy."""
ESTIMAND_METRICS = (
    "macro_f1",
    "f1_depressed",
    "f1_not_depressed",
    "balanced_accuracy",
    "auroc",
    "val_loss",
)
"""Metrics a configuration can be scored and compared on (``val_loss``: cross-entropy)."""


class LabelConflict(InvalidRequest):
    """Two runs give one participant different labels."""


@dataclass(frozen=True)
class ScoredRun:
    """One run's participant-level predictions on one split."""

    name: str
    """The run's name (or folder), used in error messages."""
    seed: Any
    """The run's seed; runs of one seed are joined (their folds)."""
    participants: Sequence[Mapping[str, Any]]
    """Rows ``{"id", "label", "prob"}``."""


@dataclass(frozen=True)
class SeedPool:
    """A configuration's predictions per seed, on the participants every seed scored."""

    seeds: list[Any]
    """The seeds, in the order given."""
    ids: list[Any]
    """The participants every seed scored, sorted."""
    labels: np.ndarray
    """Label per participant, shape (n,)."""
    probs: np.ndarray
    """Depressed-probability per seed and participant, shape (n_seeds, n)."""
    left_out: list[Any] = field(default_factory=list)
    """Participants some seed scored and another did not."""

    @property
    def n_seeds(self) -> int:
        """How many seeds were pooled."""
        return len(self.seeds)

    def rows(self, k: int) -> list[dict[str, Any]]:
        """Seed number ``k``'s pooled predictions as rows ``{"id", "label", "prob"}``."""
        return _rows(self.ids, self.labels, self.probs[k])

    def ensemble(self) -> list[dict[str, Any]]:
        """The seed-averaged ensemble: each participant's probability averaged over seeds."""
        return _rows(self.ids, self.labels, self.probs.mean(axis=0))

    def restricted(self, ids: Sequence[Any]) -> SeedPool:
        """The same pool on a subset of its participants (in the order given)."""
        where = {pid: i for i, pid in enumerate(self.ids)}
        index = [where[pid] for pid in ids]
        return SeedPool(
            list(self.seeds), list(ids), self.labels[index], self.probs[:, index], self.left_out
        )


def participant_row(row: Mapping[str, Any], k: int, where: str) -> tuple[Any, int, float]:
    """``(id, label, prob)`` of the ``k``-th participant row of ``where`` (a run's name).

    Raises
    ------
    ValueError
        A row without ``id``, ``label`` or ``prob``, or with one that is not a number.
    """
    try:
        return row["id"], int(row["label"]), float(row["prob"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{where}: participant row {k} must have 'id', 'label' and 'prob' ({error})"
        ) from None


def _rows(ids: Sequence[Any], labels: np.ndarray, probs: np.ndarray) -> list[dict[str, Any]]:
    return [
        {"id": pid, "label": int(y), "prob": float(p)}
        for pid, y, p in zip(ids, labels, probs, strict=True)
    ]


def _sort_key(pid: object) -> tuple:
    return (isinstance(pid, str), str(pid) if isinstance(pid, str) else pid)


def pool_seeds(runs: Iterable[ScoredRun]) -> SeedPool:
    """Pool runs over folds within each seed, then keep the participants every seed scored.

    Parameters
    ----------
    runs : iterable of ScoredRun
        The configuration's runs on one split (every seed, every fold).

    Returns
    -------
    SeedPool
        Empty (no seed, no participant) when there are no runs.

    Raises
    ------
    LabelConflict
        Two runs give a participant different labels (the message names both).
    ValueError
        A row without ``id``, ``label`` or ``prob``.
    """
    by_seed: dict[Any, dict[Any, list[float]]] = {}
    labels: dict[Any, tuple[int, str]] = {}
    for run in runs:
        scored = by_seed.setdefault(run.seed, {})
        for k, row in enumerate(run.participants):
            pid, label, prob = participant_row(row, k, f"run {run.name}")
            first = labels.setdefault(pid, (label, run.name))
            if first[0] != label:
                raise LabelConflict(
                    f"participant {pid!r} has label {first[0]} in run {first[1]} and label "
                    f"{label} in run {run.name}: the runs were not scored against the same "
                    "labels and cannot be pooled"
                )
            scored.setdefault(pid, []).append(prob)
    seeds = list(by_seed)
    if not seeds:
        return SeedPool([], [], np.zeros(0, dtype=int), np.zeros((0, 0)))
    every = set.intersection(*(set(scored) for scored in by_seed.values()))
    some = set.union(*(set(scored) for scored in by_seed.values()))
    ids = sorted(every, key=_sort_key)
    probs = np.array([[float(np.mean(by_seed[s][pid])) for pid in ids] for s in seeds])
    return SeedPool(
        seeds=seeds,
        ids=ids,
        labels=np.array([labels[pid][0] for pid in ids], dtype=int),
        probs=probs.reshape(len(seeds), len(ids)),
        left_out=sorted(some - every, key=_sort_key),
    )


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)


def _cross_entropy(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q))


def resampled_metric(
    metric: str, y: np.ndarray, p: np.ndarray, counts: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """The metric on each resample given by ``counts`` (n_boot, n); NaN where undefined.

    ``counts[b, i]`` is how often participant ``i`` is drawn in resample ``b``; a row of
    ones gives the metric on the participants themselves.
    """
    pos = y.astype(float)
    neg = 1.0 - pos
    n_pos, n_neg = counts @ pos, counts @ neg  # (n_boot,)
    if metric == "val_loss":
        return counts @ _cross_entropy(pos, p) / counts.sum(axis=1)
    if metric == "auroc":
        # P(score_pos > score_neg) + 0.5 P(tie) over the resample's pairs.
        wins = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])  # (n, n)
        pair_sum = np.einsum("bi,ij,bj->b", counts * pos, wins, counts * neg)
        both = (n_pos > 0) & (n_neg > 0)
        return np.where(both, pair_sum / np.where(both, n_pos * n_neg, 1.0), np.nan)
    pred = (p >= threshold).astype(float)
    tp, fn = counts @ (pos * pred), counts @ (pos * (1 - pred))
    fp, tn = counts @ (neg * pred), counts @ (neg * (1 - pred))
    if metric == "f1_depressed":
        return _f1(tp, fp, fn)
    if metric == "f1_not_depressed":
        return _f1(tn, fn, fp)
    if metric == "macro_f1":
        return (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2
    # balanced accuracy: mean recall over the classes present, as scikit-learn does.
    rec_pos = np.divide(tp, n_pos, out=np.zeros_like(tp), where=n_pos > 0)
    rec_neg = np.divide(tn, n_neg, out=np.zeros_like(tn), where=n_neg > 0)
    return (rec_pos + rec_neg) / ((n_pos > 0).astype(float) + (n_neg > 0))


def metric_value(metric: str, y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    """One metric of one prediction set on its participants (NaN where undefined)."""
    if metric not in ESTIMAND_METRICS:
        raise ValueError(f"metric must be one of {list(ESTIMAND_METRICS)}, got {metric!r}")
    if y.size == 0:
        return float("nan")
    if metric == "val_loss":
        return float(_cross_entropy(y.astype(float), p).mean())
    return float(participant_metrics(y, p, threshold)[metric])


def _counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Resampling n participants with replacement == multinomial counts per participant.
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)  # (n_boot, n)


def _per_seed_samples(
    metric: str, pool: SeedPool, counts: np.ndarray, threshold: float
) -> np.ndarray:
    """The metric of every seed on every resample, shape (n_boot, n_seeds)."""
    return np.stack(
        [resampled_metric(metric, pool.labels, p, counts, threshold) for p in pool.probs], axis=1
    )


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if not finite.size:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Estimand:
    """A configuration's figure: the mean over seeds of one participant-level metric."""

    metric: str
    value: float
    """Mean over seeds of each seed's metric (NaN where undefined)."""
    ci_low: float
    ci_high: float
    """The percentile interval of the resampled means over seeds."""
    per_seed: list[dict[str, Any]]
    """Per seed: ``seed``, ``value``, ``ci_low``, ``ci_high`` (same resamples), ``n``."""
    sd: float | None
    """Standard deviation of the per-seed values (None with one seed)."""
    n: int
    """Participants (every seed scored them)."""
    n_depressed: int
    ensemble: float
    """The metric of the seed-averaged ensemble (a different figure, no interval)."""
    level: float = 0.95


def estimand(
    pool: SeedPool,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    threshold: float = 0.5,
    level: float = 0.95,
) -> Estimand:
    """A configuration's figure and its interval from one bootstrap shared by its seeds.

    Parameters
    ----------
    pool : SeedPool
        The configuration's predictions per seed (:func:`pool_seeds`), not empty.
    metric : str
        One of :data:`ESTIMAND_METRICS`.
    n_boot : int, default 1000
        Bootstrap resamples of the participants.
    seed : int, default 0
        Seed of the resampling generator; equal inputs give equal intervals.
    threshold : float, default 0.5
        Decision threshold of the thresholded metrics.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    Estimand

    Raises
    ------
    ValueError
        An empty pool, an unknown metric or ``n_boot < 1``.
    """
    if metric not in ESTIMAND_METRICS:
        raise ValueError(f"metric must be one of {list(ESTIMAND_METRICS)}, got {metric!r}")
    if not pool.n_seeds or not pool.ids:
        raise ValueError("no participant was scored by every seed: nothing to score")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    pool_n = len(pool.ids)
    values = np.array([metric_value(metric, pool.labels, p, threshold) for p in pool.probs])
    samples = _per_seed_samples(metric, pool, _counts(len(pool.ids), n_boot, seed), threshold)
    per_seed = []
    for k, s in enumerate(pool.seeds):
        low, high = _interval(samples[:, k], level)
        per_seed.append(
            {"seed": s, "value": float(values[k]), "ci_low": low, "ci_high": high, "n": pool_n}
        )
    low, high = _interval(samples.mean(axis=1), level)
    finite = values[np.isfinite(values)]
    return Estimand(
        metric=metric,
        value=float(values.mean()),
        ci_low=low,
        ci_high=high,
        per_seed=per_seed,
        sd=float(np.std(finite, ddof=1)) if finite.size > 1 else None,
        n=len(pool.ids),
        n_depressed=int(pool.labels.sum()),
        ensemble=metric_value(metric, pool.labels, pool.probs.mean(axis=0), threshold),
        level=level,
    )


def common(pool_a: SeedPool, pool_b: SeedPool, name_a: str, name_b: str) -> list[Any]:
    """The participants both pools scored, sorted.

    Raises
    ------
    InvalidRequest
        They share no participant.
    LabelConflict
        They give a common participant different labels.
    """
    label_a = dict(zip(pool_a.ids, pool_a.labels, strict=True))
    label_b = dict(zip(pool_b.ids, pool_b.labels, strict=True))
    shared = sorted(label_a.keys() & label_b.keys(), key=_sort_key)
    if not shared:
        raise InvalidRequest(
            f"{name_a} and {name_b} share no participant: they were scored on different "
            "participants and cannot be compared"
        )
    disagree = [pid for pid in shared if label_a[pid] != label_b[pid]]
    if disagree:
        raise LabelConflict(
            f"{name_a} and {name_b} give different labels to participant(s) {disagree}: "
            "they were not scored against the same labels and cannot be compared"
        )
    return shared


def paired_estimand(
    pool_a: SeedPool,
    pool_b: SeedPool,
    metric: str,
    name_a: str = "A",
    name_b: str = "B",
    n_boot: int = 2000,
    seed: int = 0,
    threshold: float = 0.5,
    level: float = 0.95,
) -> dict[str, Any]:
    """Paired bootstrap of two configurations' means over seeds on their common participants.

    Each resample draws the participants once and scores every seed of A and of B on
    them; the difference is A's mean over seeds minus B's.

    Parameters
    ----------
    pool_a, pool_b : SeedPool
        Each configuration's predictions per seed (:func:`pool_seeds`).
    metric : str
        One of :data:`ESTIMAND_METRICS`.
    name_a, name_b : str
        Names used in error messages.
    n_boot, seed, threshold, level
        As in :func:`estimand`.

    Returns
    -------
    dict
        As :func:`core.evaluation.compare.paired_bootstrap`: ``metric``, ``n``, ``a``,
        ``b`` (each one's mean over seeds on the common participants), ``difference``,
        ``ci_low``, ``ci_high``, ``share_a_better``, ``n_boot``, ``level``; and
        ``seeds_a``, ``seeds_b``, ``left_out`` (participants only one of them scored).

    Raises
    ------
    InvalidRequest
        The two share no participant, or give one different labels.
    """
    shared = common(pool_a, pool_b, name_a, name_b)
    a, b = pool_a.restricted(shared), pool_b.restricted(shared)
    counts = _counts(len(shared), n_boot, seed)
    diff = _per_seed_samples(metric, a, counts, threshold).mean(axis=1) - _per_seed_samples(
        metric, b, counts, threshold
    ).mean(axis=1)
    diff = diff[np.isfinite(diff)]
    point_a = float(np.mean([metric_value(metric, a.labels, p, threshold) for p in a.probs]))
    point_b = float(np.mean([metric_value(metric, b.labels, p, threshold) for p in b.probs]))
    low, high = _interval(diff, level)
    return {
        "metric": metric,
        "n": len(shared),
        "a": point_a,
        "b": point_b,
        "difference": point_a - point_b,
        "ci_low": low,
        "ci_high": high,
        "share_a_better": float(np.mean(diff > 0)) if diff.size else float("nan"),
        "n_boot": int(diff.size),
        "level": float(level),
        "seeds_a": a.n_seeds,
        "seeds_b": b.n_seeds,
        "left_out": len(set(pool_a.ids) ^ set(pool_b.ids)),
    }
