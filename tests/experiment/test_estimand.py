"""One figure per configuration everywhere: status, compare, promote, groups and the report.

The experiment of :mod:`tests.experiment.disagreeing` is written without training; its
seed-averaged ensemble and its mean over seeds pick different configurations.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from core.errors import Refused
from core.experiment import control, experiment_status, list_experiments
from core.experiment.__main__ import main
from core.experiment.folder import Experiment, RunPlan
from core.runs import folder
from core.runs.process import start_time
from tests.experiment import disagreeing


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    return disagreeing.build(tmp_path / "experiments" / "disagree", tmp_path / "data")


def fake_training(same_model: bool = False):
    """Stands in for retraining: each seed's promoted run scores the test split.

    The seeds' probabilities differ but rank and threshold alike (so their figures are
    equal), or with ``same_model`` are identical.
    """

    def train(exp, best, base, workers, scheduler):
        runs = []
        for seed in exp.spec.seeds:
            plan = RunPlan(f"{best['id']}-s{seed}", best["id"], seed, None)
            step = 1 if same_model else seed + 1
            probs = {pid: 0.5 + (0.3 if y else -0.3) * step / 4 for pid, y in LABELS}
            run_dir = disagreeing.write_run(
                exp, plan, best["params"], probs, run_dir=base / plan.name
            )
            saved = folder.read_json(run_dir / folder.EVALUATION)
            saved["splits"]["test"] = saved["splits"]["dev"]  # scored, as a promotion's is
            (run_dir / folder.EVALUATION).write_text(json.dumps(saved))
            runs.append(
                {
                    "seed": seed,
                    "path": str(run_dir),
                    "state": "completed",
                    "reason": None,
                    "dev": control._summary(saved["splits"]["dev"]["report"]),
                    "test": control._summary(saved["splits"]["test"]["report"]),
                    "test_note": None,
                }
            )
        return runs

    return train


LABELS = list(zip(disagreeing.IDS, disagreeing.LABELS, strict=True))


def test_status_compare_and_promote_name_the_same_best(experiment, capsys, monkeypatch):
    assert main(["status", str(experiment), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    entries = {e["id"]: e for e in status["configurations"]}
    # The two estimands disagree on this experiment ...
    assert entries["c000"]["ensemble"] > entries["c001"]["ensemble"]
    assert entries["c001"]["mean"] > entries["c000"]["mean"]
    # ... and the figure is the mean over seeds, on the participants every seed scored.
    assert entries["c000"]["mean"] == pytest.approx(disagreeing.mean_f1("c000"))
    assert entries["c001"]["mean"] == pytest.approx(disagreeing.mean_f1("c001"))
    assert (entries["c000"]["n"], entries["c001"]["n"]) == (40, 39)
    assert status["best"]["id"] == "c001"
    for entry in entries.values():
        assert entry["ci_low"] <= entry["mean"] <= entry["ci_high"]

    for a, b in (("c001", "c000"), ("c000", "c001")):
        assert main(["compare", str(experiment), a, b, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        boot = result["bootstrap"]
        assert boot["seeds_a"] == boot["seeds_b"] == 3 and boot["n"] == 39
        best_minus_other = boot["difference"] if a == "c001" else -boot["difference"]
        assert best_minus_other > 0
        assert "c000 is better" not in result["sentence"]
        assert result["sentence"].startswith("c001's macro-F1 is higher than c000's")
        assert result["delong"] is None  # DeLong compares two single runs, not seed means

    monkeypatch.setattr(control, "_train_promoted", fake_training())
    assert main(["promote", str(experiment)]) == 0
    promotion = experiment_status(experiment)["promotion"]
    assert promotion["configuration"] == "c001"
    assert promotion["objective"]["mean"] == entries["c001"]["mean"]


def test_runs_page_statistics_and_report_pool_the_same_runs_alike(experiment, tmp_path):
    from core import run_groups
    from core.report.pooled import POOLED, pool_runs
    from core.report.predictions import Predictions  # noqa: F401  (the report's type)

    status = experiment_status(experiment)
    paths = [r["path"] for e in status["configurations"] for r in e["runs"]]
    results = run_groups.load_results(paths)
    groups = run_groups.group_runs({name: r["config"] for name, r in results.items()})
    rows = {row["group"]: row for row in run_groups.group_rows(results, groups)}
    assert len(rows) == 2
    for entry in status["configurations"]:
        (row,) = [
            r for name, r in rows.items() if f"hidden_size={entry['params']['hidden_size']}" in name
        ]
        assert row["macro_f1"] == entry["mean"]
        assert (row["macro_f1_lo"], row["macro_f1_hi"]) == (entry["ci_low"], entry["ci_high"])
        assert row["participants"] == entry["n"]
        assert row["ensemble_macro_f1"] == entry["ensemble"]
        pooled, _ = pool_runs(entry["runs"])
        assert len(pooled[POOLED]) == entry["n"]  # the same participants
        from core.evaluation.metrics import participant_metrics

        ensemble = participant_metrics(pooled[POOLED].labels, pooled[POOLED].probs)["macro_f1"]
        assert ensemble == pytest.approx(entry["ensemble"])


def test_a_label_conflict_names_the_participant_and_both_runs(experiment):
    exp = Experiment(experiment)
    plan = exp.plans("c000")[1]
    probs = disagreeing.probabilities("c000", plan.seed)
    disagreeing.write_run(exp, plan, disagreeing.PARAMS["c000"], probs)
    evaluation = exp.run_dir(plan) / folder.EVALUATION
    saved = json.loads(evaluation.read_text())
    saved["splits"]["dev"]["report"]["participants"][0]["label"] = 0  # participant 300
    evaluation.write_text(json.dumps(saved))
    (entry, _) = experiment_status(experiment)["configurations"]
    assert entry["mean"] is None
    assert "participant 300 has label 1 in run c000-s0 and label 0 in run c000-s1" in entry["error"]


def test_an_experiment_whose_runs_all_failed_is_failed(tmp_path):
    exp_dir = disagreeing.build(tmp_path / "experiments" / "down", tmp_path / "data")
    exp = Experiment(exp_dir)
    outcomes = {}
    for cid, params in disagreeing.PARAMS.items():
        for plan in exp.plans(cid):
            shutil.rmtree(exp.run_dir(plan))
            disagreeing.write_run(exp, plan, params, {}, state="failed")
            outcomes[plan.name] = {"state": "failed", "reason": "no space left on device"}
    folder.write_json_atomic(exp.file("outcomes.json"), outcomes)
    status = experiment_status(exp_dir)
    assert status["state"] == "failed" and "every run failed (6 of 6)" in status["reason"]
    (listed,) = list_experiments(tmp_path)
    assert listed["state"] == "failed"


def test_the_test_split_is_looked_at_once_and_every_look_is_shown(experiment, monkeypatch):
    monkeypatch.setattr(control, "_train_promoted", fake_training())
    driver = experiment / "driver.json"
    running = {"state": "running", "pid": os.getpid(), "proc_start": start_time(os.getpid())}
    folder.write_json_atomic(driver, running)
    with pytest.raises(Refused, match="still running"):
        control.promote(experiment)
    assert not (experiment / "promotion").exists()

    folder.write_json_atomic(driver, {"state": "stopped", "reason": "asked to stop"})
    record = control.promote(experiment)
    assert record["state"] == "completed" and record["configuration"] == "c001"
    assert "cut short" in record["cut_short"] and "asked to stop" in record["cut_short"]
    test = record["test"]
    assert test["n_seeds"] == 3 and test["macro_f1"]["ci_low"] <= test["macro_f1"]["mean"]
    assert set(test["baselines_macro_f1"]) == {"always 'depressed'", "always 'not depressed'"}
    assert all(run["test"]["baselines_macro_f1"] for run in record["runs"])
    # Equal test figures for different seeds are explained, not left to puzzle over.
    (note,) = test["notes"]
    assert note.startswith("seeds 0, 1, 2 share the same test figures")
    assert "although their predictions differ" in note and "steps of 1/400" in note
    assert record["trained_on"]["split"] == "train"

    folder.write_json_atomic(driver, {"state": "completed", "reason": None})
    with pytest.raises(Refused, match="already promoted"):
        control.promote(experiment)
    looks = experiment_status(experiment)["test_looks"]
    assert [look["run"] for look in looks] == ["c001-s0", "c001-s1", "c001-s2"]


def test_an_earlier_look_at_another_configuration_blocks_promotion(experiment, monkeypatch):
    monkeypatch.setattr(control, "_train_promoted", fake_training())
    # An older version promoted c000 while the search ran; only its folder is left.
    exp = Experiment(experiment)
    plan = RunPlan("c000-s0", "c000", 0, None)
    target = experiment / "promotion" / "c000-s0"
    disagreeing.write_run(exp, plan, {}, disagreeing.probabilities("c000", 0), run_dir=target)
    saved = folder.read_json(target / folder.EVALUATION)
    saved["splits"]["test"] = saved["splits"]["dev"]
    saved["evaluated"] = time.time() - 60
    folder.write_json_atomic(target / folder.EVALUATION, saved)
    status = experiment_status(experiment)
    assert [(look["run"], look["configuration"]) for look in status["test_looks"]] == [
        ("c000-s0", "c000")
    ]
    with pytest.raises(Refused, match=r"already promoted \(c000\).*c000-s0 \(c000\)"):
        control.promote(experiment)
    assert main(["status", str(experiment)]) == 0


def test_seeds_that_trained_one_model_are_named(experiment, monkeypatch):
    monkeypatch.setattr(control, "_train_promoted", fake_training(same_model=True))
    record = control.promote(experiment)
    (note,) = record["test"]["notes"]
    assert note.startswith("seeds 0, 1, 2 gave identical test probabilities")
    assert any(note in line for line in control.promotion_summary(experiment_status(experiment)))
