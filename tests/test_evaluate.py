"""The evaluation a training process saves in its run folder when the run ends."""

from pathlib import Path

import pytest

import core.evaluate
from core.data import Corpus
from core.kinds.results import EVALUATION_FILE, read_evaluation
from core.runs import folder
from core.train import main

TINY = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "16", "--max-epochs", "1"]


def _train(modality, corpus, run_dir, *extra):
    args = [modality, "--data", str(corpus), "--run-dir", str(run_dir), "--quiet"]
    return main([*args, *extra])


def _ids(report):
    return sorted(p["id"] for p in report["participants"])


def _check_report(report):
    metrics, intervals = report["metrics"], report["intervals"]
    assert metrics["n"] == len(report["participants"])
    for name in ("macro_f1", "auroc"):
        lo, hi = intervals[name]
        assert lo <= metrics[name] <= hi
    assert set(report["baselines"]) == {"always_depressed", "always_not_depressed"}


@pytest.fixture
def corpus_without_test_labels(small_corpus, tmp_path) -> Path:
    """``small_corpus`` (linked, not copied) without ``full_test_split.csv``."""
    root = tmp_path / "no-test-labels"
    root.mkdir()
    for entry in small_corpus.iterdir():
        if entry.name != "full_test_split.csv":
            (root / entry.name).symlink_to(entry)
    return root


def test_a_finished_text_run_holds_its_dev_and_test_evaluation(small_corpus, tmp_path):
    run_dir = tmp_path / "text"
    assert _train("text", small_corpus, run_dir, "--min-df", "2") == 0
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "completed"
    saved = read_evaluation(run_dir)  # written by the training process, for this model
    assert saved is not None
    dev, test = (saved["splits"][s]["report"] for s in ("dev", "test"))
    corpus = Corpus(small_corpus)
    test_ids = corpus.ids("test", "text", labelled=True)
    assert test_ids, "the synthetic corpus labels its test split (full_test_split.csv)"
    assert _ids(test) == sorted(test_ids)
    assert _ids(dev) == sorted(corpus.ids("dev", "text", labelled=True))
    labels = {p["id"]: p["label"] for p in test["participants"]}
    assert [labels[i] for i in test_ids] == corpus.labels(test_ids).tolist()
    (record,) = folder.read_metrics(run_dir)
    assert dev["metrics"]["macro_f1"] == pytest.approx(record["val_macro_f1"])
    for report in (dev, test):
        _check_report(report)


def test_a_finished_audio_run_holds_its_dev_and_test_evaluation(small_corpus, tmp_path):
    run_dir = tmp_path / "audio"
    assert _train("audio", small_corpus, run_dir, *TINY) == 0
    saved = read_evaluation(run_dir)
    assert saved is not None and saved["key"]["checkpoint"] == folder.BEST
    test = saved["splits"]["test"]["report"]
    assert _ids(test) == sorted(Corpus(small_corpus).ids("test", "audio", labelled=True))
    _check_report(test)
    _check_report(saved["splits"]["dev"]["report"])


def test_without_test_labels_the_evaluation_says_so(corpus_without_test_labels, tmp_path):
    run_dir = tmp_path / "text"
    assert _train("text", corpus_without_test_labels, run_dir, "--min-df", "2") == 0
    saved = read_evaluation(run_dir)
    assert "report" in saved["splits"]["dev"]
    why = saved["splits"]["test"]["no_labels"]
    assert "full_test_split.csv" in why and str(corpus_without_test_labels) in why


def test_a_failed_evaluation_leaves_the_run_completed(small_corpus, tmp_path, monkeypatch):
    def evaluate_run(run_dir, split, n_boot):
        raise RuntimeError(f"cannot score {split}")

    monkeypatch.setattr(core.evaluate, "evaluate_run", evaluate_run)
    run_dir = tmp_path / "text"
    assert _train("text", small_corpus, run_dir, "--min-df", "2") == 0
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "completed"
    saved = read_evaluation(run_dir)
    assert saved["splits"] == {
        "dev": {"error": "RuntimeError: cannot score dev"},
        "test": {"error": "RuntimeError: cannot score test"},
    }


def test_an_evaluation_that_cannot_be_saved_leaves_the_run_completed(
    small_corpus, tmp_path, monkeypatch
):
    def evaluate_and_save(run_dir, n_boot=1000):
        raise OSError("disk full")

    monkeypatch.setattr(core.evaluate, "evaluate_and_save", evaluate_and_save)
    run_dir = tmp_path / "text"
    assert _train("text", small_corpus, run_dir, "--min-df", "2") == 0
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "completed"
    assert not (run_dir / EVALUATION_FILE).exists()
    assert "could not save the evaluation" in (run_dir / folder.LOG).read_text()
    assert "OSError: disk full" in (run_dir / folder.LOG).read_text()


def test_the_command_line_saves_the_evaluation_of_an_older_run(small_corpus, tmp_path, capsys):
    run_dir = tmp_path / "text"
    assert _train("text", small_corpus, run_dir, "--min-df", "2") == 0
    (run_dir / EVALUATION_FILE).unlink()  # as a run finished by an older version
    assert core.evaluate.main([str(run_dir), "--save", "--n-boot", "50"]) == 0
    assert "test: scored" in capsys.readouterr().out
    assert read_evaluation(run_dir, n_boot=50)["splits"]["test"]["report"]
