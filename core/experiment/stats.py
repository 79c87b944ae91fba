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


def pooled_by_seed(seeds: list[int], runs: list[dict[str, Any]]) -> dict[int, list[dict]]:
    """Per seed whose runs all succeeded: its runs' dev predictions pooled, sorted by ID.

    Parameters
    ----------
    seeds : list of int
        The spec's seeds.
    runs : list of dict
        Each with ``seed``, ``state`` and ``path`` (its run folder).

    Returns
    -------
    dict
        Seed to rows ``{"id", "label", "prob"}`` (for ``cv``, every fold's validation
        participants: each train+dev participant once).
    """
    pooled = {}
    for seed in seeds:
        mine = [r for r in runs if r["seed"] == seed]
        if not mine or any(r["state"] not in SUCCEEDED for r in mine):
            continue
        predictions = [run_predictions(Path(r["path"])) for r in mine]
        if any(p is None for p in predictions):
            continue
        by_id = {p["id"]: p for preds in predictions for p in preds}
        pooled[seed] = [by_id[i] for i in sorted(by_id)]
    return pooled


def seed_averaged(pooled: dict[int, list[dict]]) -> list[dict]:
    """Each participant's probability averaged over the seeds (participants of every seed)."""
    if not pooled:
        return []
    by_seed = [{p["id"]: p for p in rows} for rows in pooled.values()]
    ids = sorted(set.intersection(*(set(rows) for rows in by_seed)))
    return [
        {
            "id": i,
            "label": by_seed[0][i]["label"],
            "prob": float(np.mean([rows[i]["prob"] for rows in by_seed])),
        }
        for i in ids
    ]


def _scored(objective: str, rows: list[dict]) -> tuple[float | None, ...]:
    labels = np.array([p["label"] for p in rows])
    probs = np.array([p["prob"] for p in rows])
    return tuple(_finite(v) for v in score(objective, labels, probs))


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
    pooled = pooled_by_seed(seeds, runs)
    per_seed = []
    for seed, rows in pooled.items():
        value, low, high = _scored(objective, rows)
        per_seed.append({"seed": seed, "value": value, "ci_low": low, "ci_high": high})
        per_seed[-1]["n"] = len(rows)
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
        value, low, high = _scored(objective, seed_averaged(pooled))
        out.update(seed_averaged=value, ci_low=low, ci_high=high)
    return out
