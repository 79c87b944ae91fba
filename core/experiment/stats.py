"""A configuration's statistics from its runs' saved out-of-fold predictions.

For each seed whose runs all succeeded, the dev predictions of its runs (one per fold
for ``cv``: every train+dev participant exactly once) are pooled by
:func:`core.evaluation.pooling.pool_seeds`, on the participants every seed scored. The
configuration's figure is the **mean over seeds** of each seed's participant-level
objective, with one 95 % bootstrap interval in which every resample draws the same
participants for every seed (:func:`core.evaluation.pooling.estimand`). That mean is the
objective Optuna is told, the status's figure, the screen's and ``compare``'s. The
seed-averaged ensemble's value is kept beside it as a second, differently named figure
(``ensemble``).

``val_loss`` here is the participant-level cross-entropy of the pooled predictions (every
kind has it, text runs included, and it has an interval like the other objectives).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, TypedDict

from core.evaluation.pooling import ScoredRun, SeedPool, estimand, pool_seeds
from core.kinds.results import read_evaluation, split_report
from core.runs.state import SUCCEEDED

N_BOOT = 1000


class ConfigurationStats(TypedDict):
    """What :func:`summarise` returns (see there)."""

    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    ensemble: float | None
    n_seeds: int
    n: int | None
    n_depressed: int | None
    per_seed: list[dict[str, Any]]


def run_predictions(run_dir: Path) -> list[dict[str, Any]] | None:
    """A finished run's dev predictions (``{"id", "label", "prob"}``), or None."""
    report = split_report(read_evaluation(Path(run_dir)), "dev")
    return None if report is None else report["participants"]


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def seed_pool(seeds: list[int], runs: list[dict[str, Any]]) -> SeedPool:
    """The seeds whose runs all succeeded, pooled (:func:`core.evaluation.pooling.pool_seeds`).

    Parameters
    ----------
    seeds : list of int
        The spec's seeds.
    runs : list of dict
        Each with ``name``, ``seed``, ``state`` and ``path`` (its run folder).

    Raises
    ------
    core.evaluation.pooling.LabelConflict
        Two runs give a participant different labels.
    """
    scored = []
    for seed in seeds:
        mine = [r for r in runs if r["seed"] == seed]
        if not mine or any(r["state"] not in SUCCEEDED for r in mine):
            continue
        predictions = [p for p in (run_predictions(Path(r["path"])) for r in mine) if p is not None]
        if len(predictions) < len(mine):
            continue
        scored += [
            ScoredRun(str(r.get("name") or r["path"]), seed, p)
            for r, p in zip(mine, predictions, strict=True)
        ]
    return pool_seeds(scored)


def summarise(
    objective: str, seeds: list[int], runs: list[dict[str, Any]], n_boot: int = N_BOOT
) -> ConfigurationStats:
    """A configuration's statistics from its runs.

    Parameters
    ----------
    objective : str
        The spec's objective.
    seeds : list of int
        The spec's seeds.
    runs : list of dict
        Each with ``name``, ``seed``, ``state`` and ``path`` (its run folder).
    n_boot : int
        Bootstrap resamples of the interval.

    Returns
    -------
    ConfigurationStats
        ``mean`` (over the seeds whose runs all succeeded), ``sd`` (None with fewer than
        two seeds), ``ci_low`` and ``ci_high`` (of the mean over seeds), ``n_seeds``,
        ``n`` and ``n_depressed`` (the participants every seed scored), ``ensemble``
        (the objective of the seed-averaged ensemble, a different figure) and
        ``per_seed``: one ``{"seed", "value", "ci_low", "ci_high", "n"}`` per seed.
        Values are None until some seed is complete.
    """
    pool = seed_pool(seeds, runs)
    out: ConfigurationStats = {
        "mean": None,
        "sd": None,
        "ci_low": None,
        "ci_high": None,
        "ensemble": None,
        "n_seeds": pool.n_seeds,
        "n": None,
        "n_depressed": None,
        "per_seed": [],
    }
    if not pool.n_seeds or not pool.ids:
        return out
    found = estimand(pool, objective, n_boot=n_boot)
    out["mean"] = _finite(found.value)
    out["sd"] = found.sd
    out["ci_low"] = _finite(found.ci_low)
    out["ci_high"] = _finite(found.ci_high)
    out["ensemble"] = _finite(found.ensemble)
    out["n"] = found.n
    out["n_depressed"] = found.n_depressed
    out["per_seed"] = [
        {**s, **{k: _finite(s[k]) for k in ("value", "ci_low", "ci_high")}} for s in found.per_seed
    ]
    return out
