"""Stopping an experiment, and promoting its best configuration to the test split."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.config import open_corpus
from core.errors import Refused, UserError
from core.evaluation.metrics import BASELINE_NAMES, trivial_baselines
from core.evaluation.pooling import ScoredRun, SeedPool, estimand, pool_seeds
from core.experiment import folder as exp_folder
from core.experiment.folder import Experiment, RunPlan
from core.experiment.status import experiment_status, process_record
from core.kinds.results import read_evaluation, split_report
from core.runs import folder
from core.runs.process import end_process, is_alive, start_time
from core.runs.state import ACTIVE, SUCCEEDED
from core.runs.supervisor import request_stop


def stop(exp_dir: Path, timeout_s: float = 60.0) -> str:
    """Ask an experiment to stop and wait for its driver to end.

    Writes ``stop.request`` (queued runs are skipped, no configuration is asked) and asks
    every active run to stop (each finishes its batch, keeps its last epoch and exits).
    A driver that has not ended after ``timeout_s`` is terminated with its workers.

    Returns
    -------
    str
        The experiment's state afterwards.
    """
    exp = Experiment(exp_dir)
    folder.write_json_atomic(exp.file(exp_folder.STOP), {"time": time.time()})
    for status_file in exp.path.glob(f"*/*/{folder.STATUS}"):
        if (folder.read_json(status_file) or {}).get("state") in ACTIVE:
            request_stop(status_file.parent)
    deadline = time.monotonic() + timeout_s
    record = process_record(exp.file(exp_folder.DRIVER))
    pid, proc_start = record.get("pid"), record.get("proc_start")
    while is_alive(pid, proc_start) and time.monotonic() < deadline:
        time.sleep(0.2)
    if end_process(pid, proc_start) if pid else None:
        record = {**record, "state": "stopped", "reason": f"ended after {timeout_s:g} s"}
        folder.write_json_atomic(exp.file(exp_folder.DRIVER), record)
    return process_record(exp.file(exp_folder.DRIVER)).get("state", "stopped")


def _summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The headline figures of a split's evaluation report, and its trivial baselines."""
    if report is None:
        return None
    metrics = report["metrics"]
    keep = ("n", "n_depressed", "macro_f1", "auroc", "balanced_accuracy")
    baselines = {
        BASELINE_NAMES[k]: v.get("macro_f1") for k, v in (report.get("baselines") or {}).items()
    }
    return {
        **{k: metrics.get(k) for k in keep},
        "intervals": report.get("intervals"),
        "baselines_macro_f1": baselines,
    }


def cut_short(status: dict[str, Any]) -> str | None:
    """Why the search ended before its plan, or None when it ran to the end."""
    if status["state"] == "completed" and status["done"] >= status["n_planned"]:
        return None
    why = f": {status['reason']}" if status.get("reason") else ""
    return (
        f"the search was cut short ({status['state']}{why}) after {status['done']} of "
        f"{status['n_planned']} runs: the best of the configurations finished so far was "
        "promoted"
    )


def _check_promotable(status: dict[str, Any]) -> None:
    """Refuse a promotion that would look at the test split a second time, or too early.

    Raises
    ------
    core.errors.Refused
        The experiment still runs, has been promoted (or is being promoted), an earlier
        promotion looked at another configuration, or nothing is complete.
    """
    name, best = status["name"], status["best"]
    if status["state"] == "running":
        raise Refused(
            f"{name} is still running: promote it once it has completed, or stop it first "
            "(the test split is looked at once per experiment, at the end)"
        )
    if best is None:
        raise Refused(f"{status['path']} has no complete configuration to promote")
    promotion = status.get("promotion") or {}
    earlier = sorted({look["configuration"] for look in status["test_looks"]} - {best["id"]})
    if promotion.get("state") == "running":
        raise Refused(f"{name} is being promoted now (process {promotion.get('pid')})")
    if (
        promotion.get("state") == "completed"
        or earlier
        or (promotion and promotion.get("configuration") != best["id"])
    ):
        looked = ", ".join(
            f"{look['run']} ({look['configuration']})" for look in status["test_looks"]
        )
        raise Refused(
            f"{name} was already promoted ({promotion.get('configuration') or ', '.join(earlier)}"
            f"{': ' + str(promotion.get('state')) if promotion else ''}); the test split is "
            f"looked at once per experiment. Looks so far: {looked or 'none scored yet'}"
        )


def promote(exp_dir: Path, workers: int | None = None, scheduler: str | None = None) -> dict:
    """Retrain the best configuration on the official training split, once per seed.

    Only once per experiment, and only when its search has ended (completed, or stopped:
    the record then says the search was cut short). A promotion that failed may be
    started again for the same configuration (finished seeds are not retrained). Each run
    evaluates dev and, when its labels are present, the test split (the only runs of an
    experiment that do); the result is recorded in ``promotion/promotion.json``.

    Returns
    -------
    dict
        ``state``, ``reason``, ``configuration``, ``params``, ``objective`` (the
        configuration's figure in the search), ``cut_short`` (why the search ended early,
        or None), ``trained_on`` (the participants each seed was trained on), ``runs``
        (per seed: ``seed``, ``path``, ``state``, ``dev``, ``test`` beside its trivial
        baselines, or ``test_note``) and ``test`` (the configuration's figure on test:
        mean over seeds with its interval, :func:`test_estimand`).

    Raises
    ------
    core.errors.Refused
        See :func:`_check_promotable`.
    """
    status = experiment_status(exp_dir)
    _check_promotable(status)
    best = status["best"]
    exp = Experiment(exp_dir)
    base = exp.path / exp_folder.PROMOTION
    base.mkdir(exist_ok=True)
    record_file = base / exp_folder.PROMOTION_FILE
    record: dict[str, Any] = {
        "state": "running",
        "reason": None,
        "configuration": best["id"],
        "params": best["params"],
        "objective": {
            k: best[k] for k in ("objective", "mean", "sd", "ci_low", "ci_high", "n_seeds", "n")
        },
        "cut_short": cut_short(status),
        "trained_on": trained_on(exp, best["params"]),
        "pid": os.getpid(),
        "proc_start": start_time(os.getpid()),
        "started": time.time(),
    }
    folder.write_json_atomic(record_file, record)
    try:
        record["runs"] = _train_promoted(exp, best, base, workers, scheduler)
    except BaseException as error:
        folder.write_json_atomic(
            record_file, {**record, "state": "failed", "reason": f"{type(error).__name__}: {error}"}
        )
        raise
    record["test"] = test_estimand(record["runs"])
    ok = all(r["state"] in SUCCEEDED for r in record["runs"])
    record.update(state="completed" if ok else "failed", ended=time.time())
    if not ok:
        record["reason"] = "a promoted run did not finish; see its folder"
    folder.write_json_atomic(record_file, record)
    return record


def trained_on(exp: Experiment, params: dict[str, Any]) -> dict[str, Any]:
    """The participants a promoted run trains on: the official training split's labelled ones.

    Returns
    -------
    dict
        ``split`` ("train"), ``n``, ``n_depressed`` and ``ids``; or ``note`` when the
        corpus cannot be read.
    """
    config = exp.run_config(RunPlan("promotion", "promotion", exp.spec.seeds[0], None), params)
    try:
        corpus = open_corpus(config)
        ids = [int(i) for i in corpus.ids("train", modality=exp.spec.modality, labelled=True)]
        labels = corpus.labels(ids).tolist() if ids else []
    except (UserError, OSError, ValueError, KeyError) as error:
        return {"split": "train", "note": f"the corpus could not be read: {error}"}
    return {"split": "train", "n": len(ids), "n_depressed": int(sum(labels)), "ids": ids}


def test_estimand(runs: list[dict[str, Any]], n_boot: int = 1000) -> dict[str, Any] | None:
    """The promoted configuration on test: mean over seeds of each metric, with intervals.

    The seeds' test predictions are pooled by :func:`core.evaluation.pooling.pool_seeds`
    (the participants every seed scored), and scored as the experiment scores a
    configuration (:func:`core.evaluation.pooling.estimand`), beside the trivial
    baselines on the same participants. None when no seed scored the test split.
    """
    scored = []
    for run in runs:
        if run["state"] not in SUCCEEDED:
            continue
        report = split_report(read_evaluation(Path(run["path"])), "test")
        if report is not None:
            scored.append(ScoredRun(Path(run["path"]).name, run["seed"], report["participants"]))
    pool = pool_seeds(scored)
    if not pool.ids:
        return None
    out: dict[str, Any] = {"n_seeds": pool.n_seeds, "n": len(pool.ids)}
    out["n_depressed"] = int(pool.labels.sum())
    for metric in ("macro_f1", "auroc"):
        found = estimand(pool, metric, n_boot=n_boot)
        out[metric] = {"mean": found.value, "ci_low": found.ci_low, "ci_high": found.ci_high}
        out[metric]["per_seed"] = {str(s["seed"]): s["value"] for s in found.per_seed}
    baselines = trivial_baselines(pool.labels)
    out["baselines_macro_f1"] = {BASELINE_NAMES[k]: v["macro_f1"] for k, v in baselines.items()}
    out["notes"] = same_figures_notes(pool, out)
    return out


def same_figures_notes(pool: SeedPool, test: dict[str, Any]) -> list[str]:
    """Explain seeds whose test figures are identical: the same model, or a small test split.

    On a few test participants macro-F1 comes from one small confusion matrix and AUROC
    moves in steps of 1 / (depressed x not depressed), so two different models often
    share both figures; identical probabilities would mean the seeds gave one model.
    """
    figures: dict[tuple, list[int]] = {}
    for k, seed in enumerate(pool.seeds):
        key = tuple(round(test[m]["per_seed"][str(seed)], 12) for m in ("macro_f1", "auroc"))
        figures.setdefault(key, []).append(k)
    notes = []
    n, k_dep = len(pool.ids), int(pool.labels.sum())
    for (f1, auroc), members in figures.items():
        if len(members) < 2:
            continue
        seeds = ", ".join(str(pool.seeds[k]) for k in members)
        if all(np.array_equal(pool.probs[members[0]], pool.probs[k]) for k in members[1:]):
            notes.append(
                f"seeds {seeds} gave identical test probabilities: they trained the same model "
                "(the seed did not change it)"
            )
        else:
            notes.append(
                f"seeds {seeds} share the same test figures (macro-F1 {f1:.3f}, AUROC "
                f"{auroc:.4f}) although their predictions differ: on {n} test participants "
                f"({k_dep} depressed) macro-F1 takes few values and AUROC moves in steps of "
                f"1/{k_dep * (n - k_dep)}"
            )
    return notes


def promotion_summary(status: dict[str, Any]) -> list[str]:
    """The promotion and every look at the test split, in plain lines (``status``)."""
    lines = []
    promotion = status.get("promotion")
    if promotion:
        lines.append(f"promotion of {promotion.get('configuration')}: {promotion.get('state')}")
        if promotion.get("cut_short"):
            lines.append(f"  {promotion['cut_short']}")
        trained = promotion.get("trained_on") or {}
        if trained.get("n") is not None:
            lines.append(
                f"  trained on the official training split: {trained['n']} participants "
                f"({trained['n_depressed']} depressed)"
            )
        for run in promotion.get("runs", []):
            test = run.get("test")
            shown = f"test macro-F1 {_number(test['macro_f1'])}" if test else run.get("test_note")
            if test:
                shown += f", AUROC {_number(test.get('auroc'))}"
                shown += "".join(
                    f"; {name} {_number(value)}"
                    for name, value in (test.get("baselines_macro_f1") or {}).items()
                )
            lines.append(f"  seed {run['seed']}: {run['state']}; {shown}")
        test = promotion.get("test")
        if test:
            lines.append(
                f"  configuration on test, mean over {test['n_seeds']} seeds "
                f"({test['n']} participants): macro-F1 {_number(test['macro_f1']['mean'])} "
                f"[{_number(test['macro_f1']['ci_low'])}, {_number(test['macro_f1']['ci_high'])}]"
                f", AUROC {_number(test['auroc']['mean'])} "
                f"[{_number(test['auroc']['ci_low'])}, {_number(test['auroc']['ci_high'])}]"
            )
            lines += [f"  note: {note}" for note in test.get("notes") or []]
    looks = status.get("test_looks") or []
    if looks:
        configurations = sorted({str(look["configuration"]) for look in looks})
        lines.append(
            f"the test split was looked at by {len(looks)} promoted run"
            f"{'s' if len(looks) != 1 else ''} of {', '.join(configurations)}"
            + (": more than one configuration was scored on test" if configurations[1:] else "")
        )
        for look in looks:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(look["evaluated"] or 0))
            lines.append(
                f"  {look['run']} at {when}: macro-F1 {_number(look['macro_f1'])}, "
                f"AUROC {_number(look['auroc'])}"
            )
    return lines


def _number(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def _train_promoted(
    exp: Experiment, best: dict, base: Path, workers: int | None, scheduler: str | None
) -> list[dict[str, Any]]:
    from core.experiment.engine import dask_client, uses_gpu
    from core.experiment.task import run_task

    plans = [RunPlan(f"{best['id']}-s{seed}", best["id"], seed, None) for seed in exp.spec.seeds]
    workers = workers or int(exp.setup.get("workers") or 1)
    scheduler = scheduler if scheduler is not None else exp.setup.get("scheduler")
    runs = []
    with dask_client(workers, scheduler, gpu=uses_gpu(exp)) as client:
        futures = []
        for plan in plans:
            config_file = base / f"{plan.name}.json"
            if not config_file.exists():
                config = exp.run_config(plan, best["params"], role="promotion")
                folder.write_json_atomic(config_file, config)
            futures.append(
                client.submit(
                    run_task,
                    str(base / plan.name),
                    str(config_file),
                    exp.threads,
                    str(base / exp_folder.STOP),
                    pure=False,
                    resources={"GPU": 1} if uses_gpu(exp) else None,
                )
            )
        outcomes = client.gather(futures)
    for plan, outcome in zip(plans, outcomes, strict=True):
        saved = read_evaluation(base / plan.name) or {}
        splits = saved.get("splits", {})
        test = splits.get("test") or {}
        runs.append(
            {
                "seed": plan.seed,
                "path": str(base / plan.name),
                "state": outcome["state"],
                "reason": outcome.get("reason"),
                "dev": _summary((splits.get("dev") or {}).get("report")),
                "test": _summary(test.get("report")),
                "test_note": test.get("no_labels") or test.get("error"),
            }
        )
    return runs
