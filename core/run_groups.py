"""Runs that differ only by seed or fold, grouped, and their participant-level figures.

A *group* is the runs whose configurations are equal but for their seed, their
cross-validation fold and their experiment bookkeeping (:func:`group_runs`). A group is
scored like an experiment's configuration: its runs are pooled over folds within each
seed and kept to the participants every seed scored
(:func:`core.evaluation.pooling.pool_seeds`), and its figure is the mean over seeds of
the participant-level metric, with one bootstrap interval shared by the seeds
(:func:`core.evaluation.pooling.estimand`). The Runs page shows these; two groups (or a
group and a run) are compared on the same figure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypedDict

from core.evaluation.pooling import ScoredRun, estimand, pool_seeds
from core.runs import folder
from core.runs_table import SPLITS, baselines_from_counts, read_evaluation

BOOKKEEPING = ("version", "seed", "experiment")
"""Keys of a run's configuration that do not make it a different configuration: its seed,
the experiment it belongs to (its fold is ``data.assignment``)."""


class RunResult(TypedDict):
    """One run's configuration and participant-level predictions per scored split."""

    config: dict[str, Any]
    seed: Any
    splits: dict[str, list[dict[str, Any]]]


def configuration(config: dict[str, Any]) -> dict[str, Any]:
    """A run's configuration without its seed, fold and experiment bookkeeping."""
    kept = {k: v for k, v in config.items() if k not in BOOKKEEPING}
    if isinstance(kept.get("data"), dict):
        kept["data"] = {k: v for k, v in kept["data"].items() if k != "assignment"}
    return kept


def _leaves(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = json.dumps(value) if isinstance(value, (list, tuple)) else value
    return out


def group_runs(configs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Group runs whose configurations are equal but for seed and fold, named by what differs.

    Parameters
    ----------
    configs : dict
        Run name to its ``config.json``.

    Returns
    -------
    dict
        Group name to its runs (sorted). A group is named by its modality and the values
        of the settings that differ between the groups of that modality, for example
        ``"audio · hidden_size=32"``; settings are named by their last key, in full
        (``model.hidden_size``) where that is ambiguous.
    """
    groups: dict[str, list[str]] = {}
    shapes: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        key = json.dumps(configuration(config), sort_keys=True, default=str)
        groups.setdefault(key, []).append(name)
        shapes[key] = _leaves(configuration(config))
    named: dict[str, list[str]] = {}
    for key, runs in sorted(groups.items(), key=lambda item: min(item[1])):
        leaves = shapes[key]
        modality = str(leaves.get("modality", "?"))
        peers = [s for s in shapes.values() if s.get("modality") == leaves.get("modality")]
        varied = [k for k in leaves if any(s.get(k) != leaves[k] for s in peers)]
        varied += sorted({k for s in peers for k in s if k not in leaves})
        short = [k.rsplit(".", 1)[-1] for k in varied]
        parts = [
            f"{s if short.count(s) == 1 else k}={leaves.get(k, '—')}"
            for k, s in zip(varied, short, strict=True)
        ]
        name = f"{modality} · {', '.join(parts)}" if parts else modality
        while name in named:  # equal as shown (for example 0.1 and "0.1"): keep both
            name += "′"
        named[name] = sorted(runs)
    return named


def load_results(paths: tuple[str, ...] | list[str]) -> dict[str, RunResult]:
    """Each run's configuration and participants per scored split (its saved evaluation).

    Runs whose configuration cannot be read are left out; a run without a current
    evaluation has no split.
    """
    results: dict[str, RunResult] = {}
    for path in paths:
        run_dir = Path(path)
        try:
            config = folder.read_json(run_dir / folder.CONFIG) or {}
        except (OSError, ValueError):
            continue
        saved = read_evaluation(run_dir) or {"splits": {}}
        splits = {
            split: entry["report"]["participants"]
            for split, entry in saved["splits"].items()
            if "report" in entry
        }
        results[folder.run_name(run_dir)] = {
            "config": config,
            "seed": config.get("seed"),
            "splits": splits,
        }
    return results


def scored_runs(results: dict[str, RunResult], members: list[str], split: str) -> list[ScoredRun]:
    """The members that scored ``split``, as :class:`~core.evaluation.pooling.ScoredRun`."""
    return [
        ScoredRun(m, results[m]["seed"], results[m]["splits"][split])
        for m in members
        if split in results[m]["splits"]
    ]


def _none(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def group_row(name: str, runs: list[ScoredRun], n_boot: int = 1000) -> dict[str, Any]:
    """One group's participant-level figures: the mean over seeds, as an experiment's.

    Parameters
    ----------
    name : str
        The group's name.
    runs : list of ScoredRun
        Its runs that have a report on the split.
    n_boot : int
        Bootstrap resamples of the intervals.

    Returns
    -------
    dict
        ``group``, ``runs``, ``seeds``, ``participants`` (every seed scored them),
        ``depressed``; macro-F1 and AUROC as the mean over seeds with the 95 % interval
        of that mean (``macro_f1``, ``macro_f1_lo``, ``macro_f1_hi``, ``auroc``,
        ``auroc_lo``, ``auroc_hi``); the standard deviation of the per-seed macro-F1
        (``macro_f1_seed_sd``); the seed-averaged ensemble's macro-F1
        (``ensemble_macro_f1``, a different figure); the baselines' macro-F1 on the
        same participants.

    Raises
    ------
    core.evaluation.pooling.LabelConflict
        Two runs give a participant different labels.
    """
    pool = pool_seeds(runs)
    f1 = estimand(pool, "macro_f1", n_boot=n_boot)
    auroc = estimand(pool, "auroc", n_boot=n_boot)
    return {
        "group": name,
        "runs": len(runs),
        "seeds": ", ".join(map(str, sorted(pool.seeds, key=str))),
        "participants": f1.n,
        "depressed": f1.n_depressed,
        "macro_f1": f1.value,
        "macro_f1_lo": _none(f1.ci_low),
        "macro_f1_hi": _none(f1.ci_high),
        "auroc": _none(auroc.value),
        "auroc_lo": _none(auroc.ci_low),
        "auroc_hi": _none(auroc.ci_high),
        "macro_f1_seed_sd": f1.sd,
        "ensemble_macro_f1": f1.ensemble,
        **{f"{b}_macro_f1": v for b, v in baselines_from_counts(f1.n, f1.n_depressed).items()},
    }


def group_rows(
    results: dict[str, RunResult], groups: dict[str, list[str]], n_boot: int = 1000
) -> list[dict[str, Any]]:
    """Each group's :func:`group_row` per split it scored, with ``split``.

    A group whose runs disagree on a label gets no row: its runs cannot be pooled.
    """
    rows = []
    for name, members in groups.items():
        for split in SPLITS:
            scored = scored_runs(results, members, split)
            if not scored:
                continue
            try:
                rows.append({"split": split, **group_row(name, scored, n_boot)})
            except ValueError:  # a label conflict, or no participant every seed scored
                continue
    return rows


def comparable(
    results: dict[str, RunResult], groups: dict[str, list[str]]
) -> dict[str, dict[str, list[ScoredRun]]]:
    """Runs with saved participant results, and groups of several runs, by display name.

    Returns
    -------
    dict
        Name to ``{split: runs}``; a run is one :class:`ScoredRun`, a group all of its
        members that scored the split (``"group: NAME"``).
    """
    items = {
        name: {split: [ScoredRun(name, r["seed"], rows)] for split, rows in r["splits"].items()}
        for name, r in results.items()
        if r["splits"]
    }
    for name, members in groups.items():
        if len(members) < 2:
            continue
        splits = {split: scored_runs(results, members, split) for split in SPLITS}
        if splits := {split: runs for split, runs in splits.items() if runs}:
            items[f"group: {name}"] = splits
    return items
