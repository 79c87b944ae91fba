"""An experiment, written without training, whose two estimands pick different configurations.

Two configurations over three seeds on the official split (protocol ``dev``), 40 dev
participants (20 depressed):

* ``c000``: each seed is wrong on its own 10 participants (macro-F1 0.75 per seed), and
  never on the same ones, so the seeds' averaged probabilities are right on everyone:
  its seed-averaged ensemble scores 1.0.
* ``c001``: every seed is wrong on the same 6 participants (about 0.85 per seed, and
  0.85 as an ensemble); its third seed did not score the last participant, who is
  left out of its figures.

The mean over seeds makes ``c001`` the best; the seed-averaged ensemble would make it
``c000``. Each run folder holds what a finished run holds for the readers: its
configuration, status, a best-model file and its saved evaluation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.evaluation.metrics import evaluate
from core.experiment import spec_from_dict
from core.experiment.folder import Experiment, RunPlan, create
from core.kinds.results import evaluation_key
from core.runs import folder

IDS = list(range(300, 340))
LABELS = [1] * 20 + [0] * 20
PARAMS = {"c000": {"hidden_size": 8}, "c001": {"hidden_size": 16}}
SPEC = {
    "name": "disagree",
    "modality": "audio",
    "objective": "macro_f1",
    "protocol": "dev",
    "seeds": [0, 1, 2],
    "sampler": "grid",
    "search": {"hidden_size": [8, 16]},
    "fixed": {"max_epochs": 1},
}


def probabilities(configuration: str, seed: int) -> dict[int, float]:
    """One seed's dev probability per participant (see the module's docstring)."""
    if configuration == "c000":
        wrong = set(range(5 * seed, 5 * seed + 5)) | set(range(20 + 5 * seed, 25 + 5 * seed))
        right_p, wrong_p = 0.7, 0.4
    else:
        wrong = {0, 1, 2, 20, 21, 22}
        right_p, wrong_p = 0.8 + 0.01 * seed, 0.45
    probs = {}
    for k, (pid, label) in enumerate(zip(IDS, LABELS, strict=True)):
        towards = wrong_p if k in wrong else right_p  # probability of the true label
        probs[pid] = towards if label == 1 else 1.0 - towards
    if configuration == "c001" and seed == 2:
        del probs[IDS[-1]]
    return probs


def write_run(
    exp: Experiment,
    plan: RunPlan,
    params: dict,
    dev: dict[int, float],
    state: str = "completed",
    run_dir: Path | None = None,
) -> Path:
    """A finished run's folder (default the plan's) with its saved dev evaluation."""
    run_dir = run_dir or exp.run_dir(plan)
    run_dir.mkdir(parents=True, exist_ok=True)
    folder.write_json_atomic(run_dir / folder.CONFIG, exp.run_config(plan, params))
    folder.write_json_atomic(
        run_dir / folder.STATUS, {"state": state, "reason": None, "heartbeat": time.time()}
    )
    if state == "failed":
        return run_dir
    (run_dir / folder.BEST).write_bytes(f"model of {plan.name}".encode())
    ids = list(dev)
    labels = [LABELS[IDS.index(i)] for i in ids]
    report = evaluate(ids, [dev[i] for i in ids], labels, n_boot=20)
    saved = {
        "key": evaluation_key(run_dir),
        "evaluated": time.time(),
        "splits": {
            "dev": {"report": report},
            "test": {"no_labels": "an experiment's search run never reads test labels"},
        },
    }
    (run_dir / folder.EVALUATION).write_text(json.dumps(saved), encoding="utf-8")
    return run_dir


def build(out: Path, data: Path, driver: str = "completed") -> Path:
    """Write the experiment into ``out`` (its data root ``data``: any folder); its path."""
    data.mkdir(parents=True, exist_ok=True)
    exp_dir = create(spec_from_dict(SPEC), data=data, out=out, workers=1)
    exp = Experiment(exp_dir)
    configurations = {cid: {"trial": k, "params": p} for k, (cid, p) in enumerate(PARAMS.items())}
    folder.write_json_atomic(exp.file("configurations.json"), configurations)
    for cid, params in PARAMS.items():
        for plan in exp.plans(cid):
            write_run(exp, plan, params, probabilities(cid, plan.seed))
    folder.write_json_atomic(exp.file("driver.json"), {"state": driver, "reason": None})
    return exp_dir


def mean_f1(configuration: str) -> float:
    """The expected figure: the mean over seeds of each seed's macro-F1."""
    from core.evaluation.metrics import participant_metrics

    common = set(IDS) if configuration == "c000" else set(IDS[:-1])
    values = []
    for seed in SPEC["seeds"]:
        probs = probabilities(configuration, seed)
        ids = sorted(common)
        y = [LABELS[IDS.index(i)] for i in ids]
        values.append(participant_metrics(y, [probs[i] for i in ids])["macro_f1"])
    return float(np.mean(values))
