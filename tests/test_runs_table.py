import io
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import core.evaluate
from core.config import make_config
from core.evaluation.metrics import trivial_baselines
from core.kinds import best_model_file
from core.kinds.results import EVALUATION_FILE
from core.kinds.text import MODEL_INFO
from core.runs import folder
from core.runs_table import (
    NOT_EVALUATED,
    baselines_from_counts,
    runs_stamp,
    runs_table,
    table_csv,
)


def make_run(root, name, modality="audio", state="completed", losses=(), owner=False, **values):
    """A hand-made run folder: configuration, status and one record per (train, val) loss."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config(modality, "/corpus", values))
    folder.write_status(run_dir, state, f"{state} on purpose", owner=owner)
    for epoch, (train, val) in enumerate(losses, start=1):
        folder.append_metrics(
            run_dir,
            {
                "epoch": epoch,
                "train_loss": train,
                "val_loss": val,
                "lr": 1e-3,
                "val_macro_f1": 0.1 * epoch,
                "val_f1_depressed": 0.2 * epoch,
                "val_f1_not_depressed": 0.05 * epoch,
                "val_auroc": 0.5 + 0.01 * epoch,
                "val_n": 10,
                "val_n_depressed": 3,
            },
        )
    return run_dir


def fake_report(macro_f1=0.3, n=10, k=3):
    metrics = {"macro_f1": macro_f1, "auroc": 0.7, "confusion_matrix": [[5, 2], [1, 2]]}
    metrics.update(n=n, n_depressed=k, f1_depressed=0.4, f1_not_depressed=0.2)
    return {
        "level": "participant",
        "metrics": metrics,
        "intervals": {
            "macro_f1": [0.1, 0.6],
            "f1_depressed": [0.2, 0.7],
            "f1_not_depressed": [0.3, 0.8],
            "auroc": [0.4, 0.9],
        },
        "baselines": {
            name: {"macro_f1": value} for name, value in baselines_from_counts(n, k).items()
        },
        "participants": [],
    }


@pytest.fixture
def scorer(monkeypatch):
    """Replace the (slow) evaluation by a counter that returns a fixed report per split.

    Test labels count as present; runs named ``broken-...`` fail on the dev split.
    """
    calls = []

    def evaluate_run(run_dir, split, n_boot):
        calls.append((run_dir.name, split))
        if run_dir.name.startswith("broken") and split == "dev":
            raise ValueError("the dev split has no labelled participants")
        return fake_report(0.3, 10, 3) if split == "dev" else fake_report(0.6, 8, 2)

    monkeypatch.setattr(core.evaluate, "evaluate_run", evaluate_run)
    monkeypatch.setattr(core.evaluate, "missing_test_labels", lambda config: None)
    return calls


@pytest.fixture
def no_scoring(monkeypatch):
    """Fail the test if anything evaluates a run."""

    def evaluate_run(*args, **kwargs):
        raise AssertionError("the runs table evaluated a run")

    monkeypatch.setattr(core.evaluate, "evaluate_run", evaluate_run)


def test_no_runs_gives_an_empty_table_with_its_columns(tmp_path):
    for root in (tmp_path, tmp_path / "missing"):
        table = runs_table(root)
        assert table.empty
        assert {"run", "status", "macro_f1", "macro_f1_lo", "auroc_hi"} <= set(table.columns)


def test_rows_take_metrics_from_the_best_epoch_and_flatten_hyper_parameters(tmp_path):
    losses = [(1.0, 0.9), (0.8, 0.5), (0.6, 0.7)]  # best validation loss at epoch 2
    make_run(tmp_path, "audio-a", losses=losses, hidden_size=32, lr=0.01)
    make_run(tmp_path, "text-b", modality="text", losses=[(0.6, 0.65)], n_estimators=50)
    make_run(tmp_path, "face-c", modality="face", state="failed")
    table = runs_table(tmp_path).set_index("run")

    audio = table.loc["audio-a"]
    assert audio["status"] == "completed" and audio["reason"] == "completed on purpose"
    assert (audio["epochs"], audio["max_epochs"], audio["best_epoch"]) == (3, 30, 2)
    assert audio["best_val_loss"] == 0.5
    assert audio["macro_f1"] == pytest.approx(0.2)
    assert audio["f1_depressed"] == pytest.approx(0.4)
    assert audio["f1_not_depressed"] == pytest.approx(0.1)
    assert audio["auroc"] == pytest.approx(0.52)
    assert (audio["hidden_size"], audio["lr"], audio["window_s"]) == (32, 0.01, 8.0)
    assert audio["seed"] == 0 and audio["data_root"] == "/corpus"
    assert pd.isna(audio["n_estimators"])  # a text parameter
    assert table.loc["text-b", "n_estimators"] == 50 and table.loc["text-b", "max_epochs"] == 1
    assert table.loc["face-c", "face_features"] == "aus,pose,gaze"

    failed = table.loc["face-c"]
    assert failed["status"] == "failed" and failed["epochs"] == 0
    assert pd.isna(failed["macro_f1"]) and pd.isna(failed["best_val_loss"])
    assert failed["evaluation"] == "no saved model"
    assert "include_formant" in table.columns and "speakers" in table.columns
    assert "landmarks" not in table.columns  # hyper-parameters no run has are left out


def test_trivial_baselines_come_from_the_same_participants(tmp_path):
    make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    (row,) = runs_table(tmp_path).to_dict("records")
    assert (row["n_dev"], row["n_dev_depressed"]) == (10, 3)
    # always 'depressed': F1 = 2*3 / (2*3 + 7) for the depressed class, 0 for the other
    assert row["always_depressed_macro_f1"] == pytest.approx(3 / 13)
    # always 'not depressed': F1 = 2*7 / (2*7 + 3) for the not-depressed class
    assert row["always_not_depressed_macro_f1"] == pytest.approx(7 / 17)


@pytest.mark.parametrize(("n", "k"), [(10, 3), (35, 12), (5, 0), (4, 4), (1, 1)])
def test_baselines_from_counts_match_the_metrics_module(n, k):
    labels = np.r_[np.ones(k, int), np.zeros(n - k, int)]
    expected = {name: m["macro_f1"] for name, m in trivial_baselines(labels).items()}
    assert baselines_from_counts(n, k) == pytest.approx(expected)


def test_the_table_reads_the_saved_dev_and_test_evaluation(tmp_path, scorer, monkeypatch):
    run_dir = make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    checkpoint = run_dir / folder.BEST
    checkpoint.write_bytes(b"weights")
    saved = core.evaluate.evaluate_and_save(run_dir, n_boot=1000)
    assert scorer == [("audio-a", "dev"), ("audio-a", "test")]
    assert saved == folder.read_json(run_dir / EVALUATION_FILE)
    assert saved["key"]["checkpoint"] == folder.BEST

    monkeypatch.setattr(core.evaluate, "evaluate_run", None)  # the table never evaluates
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"] == "dev; test"
    assert (row["macro_f1_lo"], row["macro_f1_hi"], row["auroc_hi"]) == (0.1, 0.6, 0.9)
    assert row["macro_f1"] == pytest.approx(0.1)  # the best epoch's record
    assert (row["n_test"], row["n_test_depressed"]) == (8, 2)
    assert row["test_macro_f1"] == 0.6 and row["test_auroc"] == 0.7
    assert (row["test_macro_f1_lo"], row["test_auroc_hi"]) == (0.1, 0.9)
    # the trivial baselines on the test participants: 2 of 8 depressed
    assert row["test_always_depressed_macro_f1"] == pytest.approx(2 / 10)
    assert row["test_always_not_depressed_macro_f1"] == pytest.approx(6 / 14)

    (run_dir / "better").write_bytes(b"better weights")  # a resumed run saved a better
    os.replace(run_dir / "better", checkpoint)  # model, atomically as checkpoints are
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"] == NOT_EVALUATED
    assert pd.isna(row["macro_f1_lo"]) and pd.isna(row["test_macro_f1"])
    assert row["macro_f1"] == pytest.approx(0.1)  # the record still gives the point metric


def test_finished_runs_without_an_evaluation_are_not_evaluated(tmp_path, no_scoring):
    run_dir = make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    (run_dir / folder.BEST).write_bytes(b"weights")
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"] == NOT_EVALUATED
    assert pd.isna(row["macro_f1_lo"]) and pd.isna(row["test_macro_f1"])
    assert not (run_dir / EVALUATION_FILE).exists()


def test_a_finished_run_whose_process_still_lives_is_being_evaluated(tmp_path, no_scoring):
    run_dir = make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)], owner=True)  # this process
    (run_dir / folder.BEST).write_bytes(b"weights")
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"] == "being evaluated"


def test_running_runs_are_not_evaluated_until_they_end(tmp_path, no_scoring):
    run_dir = make_run(tmp_path, "audio-a", state="running", losses=[(1.0, 0.9)], owner=True)
    (run_dir / folder.BEST).write_bytes(b"weights")
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["status"] == "running" and row["evaluation"] == "after the run ends"
    assert row["macro_f1"] == pytest.approx(0.1) and pd.isna(row["macro_f1_lo"])


def test_a_failed_split_is_recorded_and_the_other_still_scored(tmp_path, scorer):
    run_dir = make_run(tmp_path, "broken-a", losses=[(1.0, 0.9)])
    (run_dir / folder.BEST).write_bytes(b"weights")
    saved = core.evaluate.evaluate_and_save(run_dir)
    assert saved["splits"]["dev"] == {
        "error": "ValueError: the dev split has no labelled participants"
    }
    assert "report" in saved["splits"]["test"]
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"].startswith("dev failed: ValueError: the dev split has no labelled")
    assert row["evaluation"].endswith("; test")
    assert pd.isna(row["macro_f1_lo"]) and row["test_macro_f1"] == 0.6


def test_missing_test_labels_are_recorded_as_such(tmp_path, scorer, monkeypatch):
    why = "no test labels: full_test_split.csv is not in /corpus"
    monkeypatch.setattr(core.evaluate, "missing_test_labels", lambda config: why)
    run_dir = make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    (run_dir / folder.BEST).write_bytes(b"weights")
    saved = core.evaluate.evaluate_and_save(run_dir)
    assert saved["splits"]["test"] == {"no_labels": why}
    assert scorer == [("audio-a", "dev")]
    (row,) = runs_table(tmp_path).to_dict("records")
    assert row["evaluation"] == "dev; test: no labels"


def test_a_run_without_a_best_model_is_not_evaluated(tmp_path, scorer):
    run_dir = make_run(tmp_path, "audio-a", state="failed")
    assert core.evaluate.evaluate_and_save(run_dir) is None
    assert scorer == [] and not (run_dir / EVALUATION_FILE).exists()


def test_text_runs_are_keyed_by_their_saved_pipeline(tmp_path):
    run_dir = make_run(tmp_path, "text-a", modality="text", losses=[(0.6, 0.6)])
    assert best_model_file(run_dir) is None
    folder.write_json_atomic(run_dir / MODEL_INFO, {"file": "text_model.skops"})
    assert best_model_file(run_dir) is None  # named but missing
    (run_dir / "text_model.skops").write_bytes(b"pipeline")
    assert best_model_file(run_dir) == run_dir / "text_model.skops"


@pytest.mark.slow
def test_stamp_changes_with_metrics_and_when_a_run_dies_without_writing(tmp_path):
    from core.runs.process import start_time

    run_dir = make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    before = runs_stamp(tmp_path)
    assert runs_stamp(tmp_path) == before
    folder.append_metrics(run_dir, {"epoch": 2, "train_loss": 0.5, "val_loss": 0.4})
    assert runs_stamp(tmp_path) != before

    dead = make_run(tmp_path, "audio-dead", state="running", owner=True)
    child = subprocess.Popen(["sleep", "30"])
    status = folder.read_json(dead / folder.STATUS)
    process = {"pid": child.pid, "proc_start": start_time(child.pid)}
    folder.write_json_atomic(dead / folder.STATUS, {**status, **process})
    alive = runs_stamp(tmp_path)
    child.kill()
    child.wait()
    assert runs_stamp(tmp_path) != alive  # judged dead: the marker changes
    assert folder.read_json(dead / folder.STATUS)["state"] == "running"  # reading never writes


def test_csv_export_holds_every_row_and_column(tmp_path):
    make_run(tmp_path, "audio-a", losses=[(1.0, 0.9)])
    make_run(tmp_path, "text-b", modality="text", losses=[(0.6, 0.65)])
    table = runs_table(tmp_path)
    exported = pd.read_csv(io.BytesIO(table_csv(table)))
    assert list(exported.columns) == list(table.columns)
    assert sorted(exported["run"]) == ["audio-a", "text-b"]
    assert exported.set_index("run").loc["audio-a", "best_val_loss"] == 0.9


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda d: (d / folder.CONFIG).write_text('{"modality": "aud'), "config.json: is not"),
        (
            lambda d: folder.append_metrics(d, {"epoch": 3, "val_loss": "low"}),
            "metrics.jsonl line 3",
        ),
        (
            lambda d: (d / folder.STATUS).write_text('{"state": "completed", "started": "x"}'),
            "status",
        ),
    ],
)
def test_a_folder_that_cannot_be_read_is_one_unreadable_row(tmp_path, no_scoring, spoil, reason):
    make_run(tmp_path, "good", losses=[(1.0, 0.8), (0.9, 0.6)])
    spoil(make_run(tmp_path, "bad", losses=[(1.0, 0.8), (0.9, 0.7)]))
    table = runs_table(tmp_path).set_index("run")
    assert table.loc["good", "status"] == "completed" and table.loc["good", "best_val_loss"] == 0.6
    assert (table.loc["bad", "status"], table.loc["bad", "evaluation"]) == ("unreadable",) * 2
    assert table.loc["bad", "reason"].startswith(reason) and pd.isna(table.loc["bad", "macro_f1"])
    assert runs_table(tmp_path / "missing").empty  # and a root of unreadable runs only:
    (tmp_path / "good" / folder.CONFIG).write_text("[]")
    assert set(runs_table(tmp_path)["status"]) == {"unreadable"}
