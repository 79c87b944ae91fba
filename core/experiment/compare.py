"""Compare two configurations of an experiment on the same participants and folds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from core.evaluation import compare
from core.experiment.folder import Experiment
from core.experiment.stats import pooled_by_seed, seed_averaged
from core.experiment.status import configuration_entries


def compare_configurations(
    exp_dir: str | Path, a: str, b: str, metric: str | None = None
) -> dict[str, Any]:
    """Paired bootstrap (and DeLong for AUROC) of configuration A against B.

    Both are scored on their seed-averaged out-of-fold predictions, on the participants
    they share (for ``cv`` the same folds, so the same participants).

    Parameters
    ----------
    exp_dir : str or pathlib.Path
        The experiment folder.
    a, b : str
        Configuration IDs (``c000``).
    metric : str, optional
        A metric of :data:`core.evaluation.compare.METRIC_LABELS`; default the objective
        (macro-F1 for ``val_loss``).

    Returns
    -------
    dict
        ``a``, ``b``, ``metric``, ``bootstrap`` (:func:`~core.evaluation.compare.paired_bootstrap`),
        ``delong`` (AUROC, or None when a class is missing) and ``sentence``.

    Raises
    ------
    core.errors.InvalidRequest
        An unknown configuration, or one without a complete seed.
    """
    exp = Experiment(exp_dir)
    metric = metric or (exp.spec.objective if exp.spec.objective != "val_loss" else "macro_f1")
    if metric not in compare.METRIC_LABELS:
        raise InvalidRequest(f"metric {metric!r}: one of {', '.join(compare.METRIC_LABELS)}")
    entries = {e["id"]: e for e in configuration_entries(exp)}
    rows = {}
    for cid in (a, b):
        if cid not in entries:
            raise InvalidRequest(f"{exp.path} has no configuration {cid!r}: {sorted(entries)}")
        rows[cid] = seed_averaged(pooled_by_seed(list(exp.spec.seeds), entries[cid]["runs"]))
        if not rows[cid]:
            raise InvalidRequest(f"configuration {cid} has no seed whose runs all finished")
    try:
        aligned = compare.align(rows[a], rows[b], a, b)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None
    result = compare.paired_bootstrap(aligned.y, aligned.p_a, aligned.p_b, metric=metric)
    n_depressed = int(aligned.y.sum())
    both_classes = 2 <= n_depressed <= len(aligned.y) - 2  # DeLong: two of each class
    return {
        "a": a,
        "b": b,
        "metric": metric,
        "bootstrap": result,
        "delong": compare.delong(aligned.y, aligned.p_a, aligned.p_b) if both_classes else None,
        "sentence": compare.plain_sentence(result, a, b),
    }
