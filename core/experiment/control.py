"""Stopping an experiment, and promoting its best configuration to the test split."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from core.experiment import folder as exp_folder
from core.experiment.folder import Experiment, RunPlan
from core.experiment.status import experiment_status, process_record
from core.kinds.results import read_evaluation
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
    """The headline figures of a split's evaluation report."""
    if report is None:
        return None
    metrics = report["metrics"]
    keep = ("n", "n_depressed", "macro_f1", "auroc", "balanced_accuracy")
    return {**{k: metrics.get(k) for k in keep}, "intervals": report.get("intervals")}


def promote(exp_dir: Path, workers: int | None = None, scheduler: str | None = None) -> dict:
    """Retrain the best configuration on the official training split, once per seed.

    Each run evaluates dev and, when its labels are present, the test split (the only
    runs of an experiment that do); the result is recorded in
    ``promotion/promotion.json``.

    Returns
    -------
    dict
        ``state``, ``configuration``, ``params`` and ``runs`` (per seed: ``seed``,
        ``path``, ``state``, ``dev``, ``test`` or ``test_note``).

    Raises
    ------
    core.errors.InvalidRequest
        No configuration is complete yet.
    """
    status = experiment_status(exp_dir)
    best = status["best"]
    if best is None:
        raise InvalidRequest(f"{exp_dir} has no complete configuration to promote yet")
    exp = Experiment(exp_dir)
    base = exp.path / exp_folder.PROMOTION
    base.mkdir(exist_ok=True)
    record_file = base / exp_folder.PROMOTION_FILE
    record: dict[str, Any] = {
        "state": "running",
        "reason": None,
        "configuration": best["id"],
        "params": best["params"],
        "objective": {k: best[k] for k in ("objective", "mean", "sd", "ci_low", "ci_high")},
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
    ok = all(r["state"] in SUCCEEDED for r in record["runs"])
    record.update(state="completed" if ok else "failed", ended=time.time())
    if not ok:
        record["reason"] = "a promoted run did not finish; see its folder"
    folder.write_json_atomic(record_file, record)
    return record


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
