"""Honest statistics per configuration, from its runs' saved out-of-fold predictions.

For one configuration and one seed, the dev predictions of its runs (one per fold for
``cv``: every train+dev participant exactly once) are pooled and scored per participant,
with a bootstrap 95 % interval over participants. Across seeds: the mean and standard
deviation of the per-seed values, and the value and interval of the seed-averaged
predictions (each participant's probability averaged over the seeds). The mean over seeds
is the objective Optuna is told.

``val_loss`` here is the participant-level cross-entropy of the pooled predictions (every
kind has it, text runs included, and it has an interval like the other objectives).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from core.evaluation.metrics import bootstrap_intervals, participant_metrics
from core.kinds.results import read_evaluation, split_report
from core.runs.state import SUCCEEDED

N_BOOT = 1000
EPS = 1e-7


def run_predictions(run_dir: Path) -> list[dict[str, Any]] | None:
    """A finished run's dev predictions (``{"id", "label", "prob"}``), or None."""
    report = split_report(read_evaluation(Path(run_dir)), "dev")
    return None if report is None else report["participants"]


def score(
    objective: str, labels: np.ndarray, probs: np.ndarray, n_boot: int = N_BOOT
) -> tuple[float, float, float]:
    """The objective on participants, with its bootstrap 95 % interval.

    Parameters
    ----------
    objective : {"macro_f1", "auroc", "val_loss"}
        What to compute.
    labels, probs : numpy.ndarray
        One label and one depressed-probability per participant.
    n_boot : int
        Bootstrap resamples (seed 0, so equal inputs give equal intervals).

    Returns
    -------
    tuple of float
        ``(value, ci_low, ci_high)``; NaN where undefined (AUROC of one class).
    """
    if objective == "val_loss":
        p = np.clip(probs, EPS, 1 - EPS)
        losses = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))  # per participant
        rng = np.random.default_rng(0)
        n = labels.size
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)  # (n_boot, n)
        samples = counts @ losses / n
        low, high = np.percentile(samples, [2.5, 97.5])
        return float(losses.mean()), float(low), float(high)
    value = participant_metrics(labels, probs)[objective]
    low, high = bootstrap_intervals(labels, probs, n_boot=n_boot)[objective]
    return float(value), float(low), float(high)


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def summarise(
    objective: str,
    seeds: list[int],
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    """A configuration's statistics from its runs.

    Parameters
    ----------
    objective : str
        The spec's objective.
    seeds : list of int
        The spec's seeds.
    runs : list of dict
        Each with ``seed``, ``state`` and ``path`` (its run folder).

    Returns
    -------
    dict
        ``mean``, ``sd`` (None with fewer than two seeds), ``ci_low``, ``ci_high`` and
        ``seed_averaged`` (of the seed-averaged predictions), and ``per_seed``: one
        ``{"seed", "value", "ci_low", "ci_high", "n"}`` per seed whose runs all succeeded.
        Values are None until some seed is complete.
    """
    per_seed, pooled = [], {}
    for seed in seeds:
        mine = [r for r in runs if r["seed"] == seed]
        if not mine or any(r["state"] not in SUCCEEDED for r in mine):
            continue
        predictions = [run_predictions(Path(r["path"])) for r in mine]
        if any(p is None for p in predictions):
            continue
        by_id = {p["id"]: p for preds in predictions for p in preds}
        ids = sorted(by_id)
        labels = np.array([by_id[i]["label"] for i in ids])
        probs = np.array([by_id[i]["prob"] for i in ids])
        value, low, high = score(objective, labels, probs)
        per_seed.append(
            {
                "seed": seed,
                "value": _finite(value),
                "ci_low": _finite(low),
                "ci_high": _finite(high),
                "n": len(ids),
            }
        )
        pooled[seed] = (ids, labels, probs)
    out: dict[str, Any] = {
        "mean": None,
        "sd": None,
        "ci_low": None,
        "ci_high": None,
        "seed_averaged": None,
        "per_seed": per_seed,
    }
    values = [s["value"] for s in per_seed if s["value"] is not None]
    if values:
        out["mean"] = float(np.mean(values))
        out["sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
    if pooled:
        ids = sorted(set.intersection(*(set(v[0]) for v in pooled.values())))
        first = next(iter(pooled.values()))
        label_of = dict(zip(first[0], first[1].tolist(), strict=True))
        labels = np.array([label_of[i] for i in ids])
        by_seed = [dict(zip(v[0], v[2].tolist(), strict=True)) for v in pooled.values()]
        probs = np.mean([[probs_of[i] for i in ids] for probs_of in by_seed], axis=0)  # (n,)
        value, low, high = score(objective, labels, probs)
        out.update(seed_averaged=_finite(value), ci_low=_finite(low), ci_high=_finite(high))
    return out
