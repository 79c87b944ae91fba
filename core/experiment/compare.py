"""Compare two configurations of an experiment on the same participants and folds.

Each configuration's figure is its mean over seeds of the participant-level metric
(:mod:`core.evaluation.pooling`), the figure the status table, the "best so far" and the
promotion use; the comparison is a paired bootstrap of the difference of the two means,
each resample drawing the same participants for every seed of both configurations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from core.evaluation import compare
from core.evaluation.pooling import paired_estimand
from core.experiment.folder import Experiment
from core.experiment.stats import seed_pool
from core.experiment.status import configuration_entries

N_BOOT = 2000
"""Bootstrap resamples of a comparison."""


def compare_configurations(
    exp_dir: str | Path, a: str, b: str, metric: str | None = None, n_boot: int = N_BOOT
) -> dict[str, Any]:
    """Paired bootstrap of configuration A's mean over seeds against B's.

    Both are scored on the participants they share (for ``cv`` the same folds, so the
    same participants). DeLong's test, which compares two single prediction sets, is
    given only when each configuration has one seed.

    Parameters
    ----------
    exp_dir : str or pathlib.Path
        The experiment folder.
    a, b : str
        Configuration IDs (``c000``).
    metric : str, optional
        A metric of :data:`core.evaluation.compare.METRIC_LABELS`; default the objective
        (macro-F1 for ``val_loss``).
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``a``, ``b``, ``metric``, ``bootstrap``
        (:func:`~core.evaluation.pooling.paired_estimand`), ``delong`` (AUROC of two
        single seeds, or None) and ``sentence``.

    Raises
    ------
    core.errors.InvalidRequest
        An unknown configuration, one without a complete seed, or two that share no
        participant or disagree on a label.
    """
    exp = Experiment(exp_dir)
    metric = metric or (exp.spec.objective if exp.spec.objective != "val_loss" else "macro_f1")
    if metric not in compare.METRIC_LABELS:
        raise InvalidRequest(f"metric {metric!r}: one of {', '.join(compare.METRIC_LABELS)}")
    entries = {e["id"]: e for e in configuration_entries(exp)}
    pools = {}
    for cid in (a, b):
        if cid not in entries:
            raise InvalidRequest(f"{exp.path} has no configuration {cid!r}: {sorted(entries)}")
        pools[cid] = seed_pool(list(exp.spec.seeds), entries[cid]["runs"])
        if not pools[cid].ids:
            raise InvalidRequest(f"configuration {cid} has no seed whose runs all finished")
    result = paired_estimand(pools[a], pools[b], metric, a, b, n_boot=n_boot)
    single = pools[a].n_seeds == pools[b].n_seeds == 1
    labels = pools[a].restricted(sorted(set(pools[a].ids) & set(pools[b].ids))).labels
    both_classes = 2 <= int(labels.sum()) <= len(labels) - 2  # DeLong: two of each class
    delong = None
    if single and both_classes:
        shared = sorted(set(pools[a].ids) & set(pools[b].ids))
        pa, pb = pools[a].restricted(shared), pools[b].restricted(shared)
        delong = compare.delong(pa.labels, pa.probs[0], pb.probs[0])
    return {
        "a": a,
        "b": b,
        "metric": metric,
        "bootstrap": result,
        "delong": delong,
        "sentence": compare.plain_sentence(result, a, b) + " " + seeds_note(result),
    }


def seeds_note(result: dict[str, Any]) -> str:
    """What was compared: ``"(each the mean over 3 seeds; 2000 paired resamples)"``."""
    seeds_a, seeds_b = result["seeds_a"], result["seeds_b"]
    seeds = (
        f"{seeds_a} seed{'s' if seeds_a != 1 else ''}"
        if seeds_a == seeds_b
        else f"{seeds_a} and {seeds_b} seeds"
    )
    return f"(each the mean over {seeds}; {result['n_boot']} paired resamples)"
