"""What an experiment is doing, from its files only (reading never writes).

:func:`experiment_status` is what ``status DIR --json`` prints and what the dashboard
shows; :func:`list_experiments` lists the experiments under a runs root.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.evaluation.pooling import LabelConflict
from core.experiment import folder as exp_folder
from core.experiment.folder import Experiment
from core.experiment.stats import ConfigurationStats, summarise
from core.runs import folder
from core.runs.process import is_alive
from core.runs.state import PENDING, SUCCEEDED, RunState
from core.runs.status import read_status

STATES = (RunState.RUNNING, RunState.COMPLETED, RunState.STOPPED, RunState.FAILED)

Stats = Callable[[str, list[int], list[dict[str, Any]]], ConfigurationStats]
"""How a configuration's statistics are computed from ``(objective, seeds, runs)``:
:func:`core.experiment.stats.summarise`, or the dashboard's cached copy of it."""


def process_record(path: Path) -> dict[str, Any]:
    """A driver's or promotion's record, its state judged against its process.

    A record that says *running* whose process is gone reads as *failed*, with the
    reason that it ended unexpectedly (``resume`` continues it).
    """
    record = dict(folder.read_json(path) or {})
    if record.get("state") == RunState.RUNNING and not is_alive(
        record.get("pid"), record.get("proc_start")
    ):
        record["state"] = RunState.FAILED
        record["reason"] = "its process ended unexpectedly; resume the experiment"
    return record


def driver_state(exp_dir: Path) -> tuple[str, str | None]:
    """The experiment's state (running, completed, stopped, failed) and why."""
    record = process_record(Path(exp_dir) / exp_folder.DRIVER)
    if not record:
        return RunState.STOPPED, "not started"
    return record.get("state", RunState.STOPPED), record.get("reason")


def _run_entry(exp: Experiment, plan: exp_folder.RunPlan, outcomes: dict) -> dict[str, Any]:
    run_dir = exp.run_dir(plan)
    state, reason = PENDING, None
    if (run_dir / folder.CONFIG).is_file():
        with contextlib.suppress(OSError, ValueError):
            status = read_status(run_dir)
            state, reason = status.get("state", RunState.STARTING), status.get("reason")
    elif plan.name in outcomes:
        state, reason = outcomes[plan.name].get("state"), outcomes[plan.name].get("reason")
    return {
        "name": plan.name,
        "seed": plan.seed,
        "fold": plan.fold,
        "state": str(state),
        "reason": reason,
        "path": str(run_dir),
    }


run_entry = _run_entry
"""One run's entry: ``name``, ``seed``, ``fold``, ``state``, ``reason``, ``path``."""


def _stats(stats: Stats, exp: Experiment, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration's statistics; runs that disagree on a label give none, and why."""
    try:
        return {**stats(exp.spec.objective, list(exp.spec.seeds), runs), "error": None}
    except LabelConflict as error:
        return {**summarise(exp.spec.objective, [], runs), "error": str(error)}


def configuration_entries(
    exp: Experiment, only: str | None = None, stats: Stats = summarise
) -> list[dict[str, Any]]:
    """One entry per configuration asked so far, or only configuration ``only``.

    See :func:`experiment_status` for the fields; ``stats`` computes the statistics.
    """
    configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
    outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
    entries = []
    for cid, info in sorted(configurations.items()):
        if only is not None and cid != only:
            continue
        runs = [_run_entry(exp, plan, outcomes) for plan in exp.plans(cid)]
        n_done = sum(r["state"] in SUCCEEDED for r in runs)
        entries.append(
            {
                "id": cid,
                "trial": info.get("trial"),
                "params": info.get("params", {}),
                "objective": exp.spec.objective,
                "n_runs": len(runs),
                "n_done": n_done,
                "n_failed": sum(r["state"] == RunState.FAILED for r in runs),
                "complete": n_done == len(runs),
                **_stats(stats, exp, runs),
                "runs": runs,
            }
        )
    return entries


def best_configuration(entries: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The complete configuration with the best mean over seeds, or None."""
    ranked = [e for e in entries if e["complete"] and e["mean"] is not None]
    if not ranked:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(ranked, key=lambda e: (sign * e["mean"], e["id"]))


def all_failed(entries: list[dict[str, Any]]) -> str | None:
    """Why an experiment failed when every one of its runs did (None otherwise)."""
    runs = [r for e in entries for r in e["runs"]]
    if not runs or any(r["state"] != "failed" for r in runs):
        return None
    return f"every run failed ({len(runs)} of {len(runs)}); the first: {runs[0]['reason']}"


def experiment_status(exp_dir: str | Path, stats: Stats = summarise) -> dict[str, Any]:
    """Everything ``status --json`` reports about an experiment.

    A driver that ended with every run failed reads as *failed*, not *completed*.

    Parameters
    ----------
    exp_dir : str or pathlib.Path
        The experiment folder.
    stats : callable, optional
        Computes a configuration's statistics (:data:`Stats`); the dashboard passes a
        cached :func:`~core.experiment.stats.summarise`.

    Returns
    -------
    dict
        ``name``, ``path``, ``state`` (running, completed, stopped, failed), ``reason``,
        ``spec`` (dict), ``objective``, ``direction``, ``configurations`` (per
        configuration: ``id``, ``params``, ``n_runs``, ``objective``, ``mean`` (over
        seeds), ``sd``, ``ci_low`` and ``ci_high`` (of the mean over seeds), ``n_seeds``,
        ``n``, ``n_depressed``, ``ensemble`` (the seed-averaged ensemble's objective, a
        different figure), ``per_seed``, ``error`` (why there are no figures, or None)
        and ``runs``, each with ``seed``, ``fold``, ``state``, ``path``), ``n_runs`` (of
        the configurations asked so far), ``n_planned`` (of every trial), ``done``,
        ``best`` (the best complete configuration's entry, or None), ``promotion`` (dict
        or None) and ``test_looks`` (every promoted run that scored the test split,
        :func:`test_looks`).

    Raises
    ------
    core.errors.InvalidRequest
        The folder holds no experiment.
    """
    exp = Experiment(exp_dir)
    state, reason = driver_state(exp.path)
    entries = configuration_entries(exp, stats=stats)
    if state == "completed" and (why := all_failed(entries)):
        state, reason = "failed", why
    promotion = process_record(exp.path / exp_folder.PROMOTION / exp_folder.PROMOTION_FILE)
    return {
        "name": exp.spec.name,
        "path": str(exp.path),
        "state": state,
        "reason": reason,
        "spec": exp.spec.to_dict(),
        "objective": exp.spec.objective,
        "direction": exp.spec.direction,
        "threads": exp.threads,
        "configurations": entries,
        "n_runs": sum(e["n_runs"] for e in entries),
        "n_planned": exp.spec.trials * len(exp.plans("c000")),
        "done": sum(e["n_done"] for e in entries),
        "best": best_configuration(entries, exp.spec.direction),
        "promotion": promotion or None,
        "test_looks": test_looks(exp.path),
    }


def test_looks(exp_dir: Path) -> list[dict[str, Any]]:
    """Every look at the test split: each promoted run folder that scored it, oldest first.

    Read from the run folders themselves (not from ``promotion.json``), so a look that an
    earlier promotion left behind is listed too.

    Returns
    -------
    list of dict
        ``run``, ``configuration``, ``seed``, ``evaluated`` (seconds since the epoch),
        ``n``, ``macro_f1`` and ``auroc`` on the test split.
    """
    looks = []
    base = Path(exp_dir) / exp_folder.PROMOTION
    for evaluation in sorted(base.glob(f"*/{folder.EVALUATION}")):
        with contextlib.suppress(OSError, ValueError):
            saved = folder.read_json(evaluation) or {}
            report = ((saved.get("splits") or {}).get("test") or {}).get("report")
            if report is None:
                continue
            config = folder.read_json(evaluation.parent / folder.CONFIG) or {}
            metrics = report.get("metrics") or {}
            looks.append(
                {
                    "run": evaluation.parent.name,
                    "configuration": (config.get("experiment") or {}).get("configuration"),
                    "seed": config.get("seed"),
                    "evaluated": saved.get("evaluated"),
                    "n": metrics.get("n"),
                    "macro_f1": metrics.get("macro_f1"),
                    "auroc": metrics.get("auroc"),
                }
            )
    looks.sort(key=lambda look: (look["evaluated"] or 0.0, look["run"]))
    return looks


def _listed_state(exp: Experiment, done: int) -> str:
    """The driver's state, *failed* when it completed with every run failed."""
    state = driver_state(exp.path)[0]
    if state != "completed" or done:
        return state
    outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
    failed = outcomes and all(o.get("state") == "failed" for o in outcomes.values())
    return "failed" if failed else state


def list_experiments(runs_root: str | Path | None = None) -> list[dict[str, Any]]:
    """The experiments under ``<runs_root>/experiments``, newest first.

    Returns
    -------
    list of dict
        ``name``, ``path``, ``state``, ``n_runs`` (planned: trials x seeds x folds) and
        ``done`` (runs that succeeded).
    """
    root = Path(runs_root or exp_folder.runs_root()) / exp_folder.EXPERIMENTS
    found = []
    for path in sorted(root.glob(f"*/{exp_folder.SPEC_JSON}")):
        with contextlib.suppress(OSError, ValueError):
            exp = Experiment(path.parent)
            n_runs = exp.spec.trials * len(exp.plans("c000"))  # planned, asked or not
            done = sum(
                (run / folder.STATUS).is_file()
                and (folder.read_json(run / folder.STATUS) or {}).get("state") in SUCCEEDED
                for run in (exp.path / exp_folder.RUNS).iterdir()
            )
            found.append(
                {
                    "name": exp.spec.name,
                    "path": str(exp.path),
                    "state": _listed_state(exp, done),
                    "n_runs": n_runs,
                    "done": done,
                    "created": exp.setup.get("created"),
                }
            )
    found.sort(key=lambda e: e.get("created") or 0.0, reverse=True)
    return found
