"""The model card of an experiment configuration, from its runs' pooled predictions.

The configuration's runs are pooled by :func:`core.evaluation.pooling.pool_seeds`, the
one rule the experiment's statistics and the Runs page use: within each seed its folds'
dev predictions (every train+dev participant once, out of fold; on the official split,
protocol ``dev``, the one run's dev predictions), kept to the participants every seed
scored. The configuration's figure, the mean over seeds with its interval, is the
"Configuration" section's (as in :mod:`core.experiment.stats`). Subgroups and calibration
need one probability per participant, so they are built from the *ensemble of the seeds*
(each participant's probability averaged over the seeds), and the card names it so. Test
predictions, where labelled, are pooled the same way. A pooled participant's calibration
is fitted on the other folds' participants only (cross-fitting), never on their own fold.
The shortcut audit and the explanations are those of one of the configuration's runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from core.config import open_corpus
from core.errors import UserError
from core.evaluation.metrics import bootstrap_intervals, participant_metrics, trivial_baselines
from core.evaluation.pooling import ScoredRun, pool_seeds
from core.kinds.results import read_evaluation, split_report
from core.report import analysis, sections
from core.report.build import Options, audit_of, explanations_of, subgroups_of
from core.report.calibration import Recalibration, calibration_summary
from core.report.card import Card, interval_text, setting
from core.report.inputs import RunInputs, load_run
from core.report.predictions import Predictions
from core.runs.state import SUCCEEDED

POOLED = "pooled dev (out of fold)"
"""The key of the pooled dev predictions (and the split's name with folds)."""


def pooled_name(protocol: str, n_seeds: int) -> str:
    """What the card calls the pooled dev predictions, in the protocol's own words.

    ``cv``: :data:`POOLED`; ``dev`` (the official split, no folds): ``"dev"``; with
    several seeds, followed by ``" (ensemble of 2 seeds)"``: the seeds' probabilities
    averaged, a different figure from the configuration's mean over seeds.
    """
    name = POOLED if protocol == "cv" else "dev"
    return name if n_seeds <= 1 else f"{name} (ensemble of {n_seeds} seeds)"


def per_seed_caption(protocol: str, folds: int | None) -> str:
    """The caption of the per-seed table: how each seed's value was computed."""
    if protocol == "cv":
        return f"per seed, pooled over its {folds} folds' out-of-fold predictions"
    return "per seed, on the official dev split (one run per seed)"


def is_experiment(path: Path) -> bool:
    """Whether ``path`` is an experiment folder."""
    from core.experiment import experiment_status

    try:
        experiment_status(path)
    except (UserError, OSError, ValueError):
        return False
    return True


def _configuration(status: dict[str, Any], configuration: str | None) -> dict[str, Any]:
    entries = status["configurations"]
    if configuration is not None:
        found = [e for e in entries if e["id"] == configuration]
        if not found:
            known = ", ".join(e["id"] for e in entries) or "none yet"
            raise ValueError(f"no configuration {configuration!r} in {status['path']} ({known})")
        return found[0]
    done = [e for e in entries if e["n_done"]]
    if status["best"] is not None:
        return status["best"]
    if not done:
        raise ValueError(f"{status['path']}: no configuration has a finished run yet")
    return done[0]


def pool_runs(runs: list[dict[str, Any]]) -> tuple[dict[str, Predictions], dict[int, int]]:
    """The configuration's pooled predictions per split, and each dev participant's fold.

    Parameters
    ----------
    runs : list of dict
        The configuration's runs (``seed``, ``fold``, ``state``, ``path``).

    Returns
    -------
    predictions : dict
        ``POOLED`` (the ensemble of the seeds' out-of-fold dev predictions) and ``test``
        (the ensemble of their test predictions), where any; both on the participants
        every seed scored (:func:`core.evaluation.pooling.pool_seeds`).
    folds : dict
        Participant ID to the fold whose run scored it (0 without folds).

    Raises
    ------
    core.evaluation.pooling.LabelConflict
        Two runs give a participant different labels.
    """
    scored: dict[str, list[ScoredRun]] = {"dev": [], "test": []}
    folds: dict[int, int] = {}
    for run in runs:
        if run["state"] not in SUCCEEDED:
            continue
        saved = read_evaluation(Path(run["path"]))
        for split in ("dev", "test"):
            report = split_report(saved, split)
            if report is None:
                continue
            name = str(run.get("name") or run["path"])
            scored[split].append(ScoredRun(name, run["seed"], report["participants"]))
            if split == "dev":
                folds.update(
                    {int(row["id"]): int(run["fold"] or 0) for row in report["participants"]}
                )
    out = {}
    for name, split in ((POOLED, "dev"), ("test", "test")):
        pool = pool_seeds(scored[split])
        if pool.ids:
            ensemble = pool.ensemble()
            out[name] = Predictions(
                np.array([int(r["id"]) for r in ensemble]),
                np.array([r["label"] for r in ensemble]),
                np.array([r["prob"] for r in ensemble]),
            )
    return out, folds


def cross_fitted(
    pooled: Predictions, folds: dict[int, int], method: str
) -> tuple[Predictions, list[Recalibration]]:
    """Each fold's participants calibrated by a map fitted on the other folds only.

    Raises
    ------
    ValueError
        Fewer than two folds (there is no other fold to fit on).
    """
    fold_of = np.array([folds.get(int(i), 0) for i in pooled.ids])
    if np.unique(fold_of).size < 2:
        raise ValueError("the configuration has no folds: nothing to cross-fit a calibration on")
    probs = np.empty(len(pooled))
    maps = []
    for fold in np.unique(fold_of):
        own = fold_of == fold
        fitting = Predictions(pooled.ids[~own], pooled.labels[~own], pooled.probs[~own])
        judged = Predictions(pooled.ids[own], pooled.labels[own], pooled.probs[own])
        recalibration = Recalibration(method).fit(fitting)
        probs[own] = recalibration.apply(judged).probs
        maps.append(recalibration)
    return Predictions(pooled.ids, pooled.labels, probs), maps


def _report(predictions: Predictions, n_boot: int) -> dict[str, Any]:
    return {
        "metrics": participant_metrics(predictions.labels, predictions.probs),
        "intervals": bootstrap_intervals(predictions.labels, predictions.probs, n_boot=n_boot),
        "baselines": trivial_baselines(predictions.labels),
        "participants": [
            {"id": int(i), "label": int(y), "prob": float(p)}
            for i, y, p in zip(predictions.ids, predictions.labels, predictions.probs, strict=True)
        ],
    }


def _calibration(
    pooled: dict[str, Predictions], folds: dict[int, int], method: str | None, name: str = POOLED
) -> dict:
    """The calibration section's figures; ``name`` is what the pooled dev split is called."""
    out: dict[str, Any] = {"method": None, "method_text": None, "splits": {}, "notes": []}
    if len(set(folds.values())) > 1:
        note = "the other folds' pooled out-of-fold predictions (cross-fitting)"
    else:
        note = "nothing: without folds there are no other participants' dev predictions"
    out["fitting"] = {"n": len(pooled.get(POOLED, [])), "note": note}
    for split, predictions in pooled.items():
        out["splits"][name if split == POOLED else split] = {
            "before": calibration_summary(predictions)
        }
    if not method or POOLED not in pooled:
        return out
    from core.report.calibration import METHODS

    try:
        after, _ = cross_fitted(pooled[POOLED], folds, method)
        out["splits"][name]["after"] = calibration_summary(after)
        if "test" in pooled:  # test participants are never in a fold
            recalibration = Recalibration(method).fit(pooled[POOLED])
            out["splits"]["test"]["after"] = calibration_summary(
                recalibration.apply(pooled["test"])
            )
        out["method"], out["method_text"] = method, METHODS[method]
    except ValueError as error:
        out["notes"].append(f"no calibration fitted: {error}")
    return out


def build_experiment_card(
    exp_dir: str | Path, options: Options | None = None, configuration: str | None = None
) -> Card:
    """The model card of one configuration of an experiment (default: the best).

    Raises
    ------
    ValueError
        No such configuration, or none has a finished run.
    """
    from core.experiment import experiment_status

    started = time.monotonic()
    options = options or Options()
    status = experiment_status(exp_dir)
    entry = _configuration(status, configuration)
    pooled, folds = pool_runs(entry["runs"])
    if POOLED not in pooled:
        raise ValueError(f"configuration {entry['id']} has no finished run with dev predictions")
    first = next(r for r in entry["runs"] if r["state"] in SUCCEEDED)
    one = load_run(first["path"])
    spec = status["spec"]
    protocol, seeds = spec.get("protocol", "dev"), list(spec.get("seeds") or [])
    name = pooled_name(protocol, entry.get("n_seeds") or len(seeds))
    inputs = RunInputs(
        run_dir=one.run_dir,
        config={**one.config, "data": {**one.config["data"], "assignment": None}},
        kind=one.kind,
        corpus=open_corpus({**one.config, "data": {"root": one.config["data"].get("root")}}),
        reports={
            name if split == POOLED else split: _report(p, options.n_boot)
            for split, p in pooled.items()
        },
        history=[],
        status={"state": status["state"], "reason": status.get("reason")},
    )
    card = Card(
        title=f"Model card: experiment {status['name']}, configuration {entry['id']}",
        subtitle=f"Pooled over {entry['n_done']} of {entry['n_runs']} runs; built "
        f"{time.strftime('%Y-%m-%d %H:%M')} from {status['path']}",
    )
    sections.intended_use(card)
    sections.data_section(card, inputs)
    model = card.section("Configuration")
    model.text(
        f"Objective: {entry['objective']}; searched parameters below; "
        f"seeds {', '.join(map(str, seeds))}."
    )
    model.table(["parameter", "value"], [[k, setting(v)] for k, v in entry["params"].items()])
    per_seed = [
        [s["seed"], s["value"], interval_text(s["ci_low"], s["ci_high"]), s["n"]]
        for s in entry.get("per_seed", [])
    ]
    if entry.get("mean") is not None:
        n_seeds = len(per_seed)
        per_seed.append(
            [
                f"mean over {n_seeds} seed{'s' if n_seeds != 1 else ''}",
                entry["mean"],
                interval_text(entry["ci_low"], entry["ci_high"]),
                entry.get("n"),
            ]
        )
    model.table(
        ["seed", "value", "interval", "participants"],
        per_seed,
        per_seed_caption(protocol, spec.get("folds")),
    )
    sections.model_section(card, one, seeds=seeds)
    sections.results_section(card, inputs)
    subgroups, notes = subgroups_of(inputs, options)
    analysis.subgroups_section(card, subgroups, notes)
    analysis.calibration_section(card, _calibration(pooled, folds, options.calibration, name))
    audits = [audit_of(one, options)]
    analysis.audit_section(card, audits)
    analysis.explanations_section(card, explanations_of(one, audits))
    analysis.limitations_section(
        card, inputs, [f"The audit and the explanations are those of one run: {one.run_dir}."]
    )
    card.build_seconds = time.monotonic() - started
    return card
