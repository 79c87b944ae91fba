import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.evaluate import evaluate_run
from core.kinds.choice import best_finished_run
from core.kinds.fusion_run import fusion_inputs
from core.kinds.text_run import participant_documents, train_oof
from core.runs import folder
from core.train import main

REPO_CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
TINY = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "16", "--patience", "50"]


def _train(modality, corpus, run_dir, *extra):
    args = [modality, "--data", str(corpus), "--run-dir", str(run_dir), "--quiet"]
    return main([*args, *extra])


def _losses(run_dir):
    return [(r["train_loss"], r["val_loss"]) for r in folder.read_metrics(run_dir)]


@pytest.fixture(scope="module")
def audio_run(small_corpus, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "audio"
    assert _train("audio", small_corpus, run_dir, *TINY, "--max-epochs", "3") == 0
    return run_dir


def test_audio_run_folder_holds_config_status_metrics_and_checkpoints(audio_run):
    records = folder.read_metrics(audio_run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for key in ("train_loss", "val_loss", "lr", "val_macro_f1", "val_f1_depressed"):
        assert key in records[0]
    assert folder.read_json(audio_run / folder.STATUS)["state"] == "completed"
    checkpoint = torch.load(audio_run / folder.LATEST, weights_only=True)
    assert checkpoint["epoch"] == 3
    data = checkpoint["config"]["data"]
    assert len(data["feature_names"]) == len(data["normaliser"]["mean"])
    assert (audio_run / folder.BEST).exists()


def test_resumed_cli_run_reproduces_an_uninterrupted_run(small_corpus, tmp_path, audio_run):
    short = tmp_path / "short"
    assert _train("audio", small_corpus, short, *TINY, "--max-epochs", "1") == 0
    assert main(["--resume", str(short), "--max-epochs", "3", "--quiet"]) == 0
    assert _losses(short) == _losses(audio_run)
    assert folder.read_json(short / folder.CONFIG)["training"]["max_epochs"] == 3


def test_evaluate_neural_run_uses_its_saved_normaliser(audio_run, small_corpus):
    report = evaluate_run(audio_run, "dev", n_boot=20)
    assert report["modality"] == "audio" and report["level"] == "participant"
    # One row per participant, not per window.
    ids = [p["id"] for p in report["participants"]]
    assert len(ids) == len(set(ids)) == report["metrics"]["n"]


def test_face_run_with_landmarks(small_corpus, tmp_path):
    run_dir = tmp_path / "face"
    extra = ["--face-features", "aus,landmarks", "--max-epochs", "2"]
    assert _train("face", small_corpus, run_dir, *TINY, *extra) == 0
    names = torch.load(run_dir / folder.BEST, weights_only=True)["config"]["data"]["feature_names"]
    assert "AU12_r" in names and "x36" in names


def fresh_clone_checkpoints(tmp_path: Path) -> Path:
    """A runs root holding what ``checkpoints/`` holds in a fresh clone, plus a lock file."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    shutil.copy(REPO_CHECKPOINTS / ".gitkeep", root / ".gitkeep")  # tracked in git
    (root / ".runs.lock").touch()  # what the run manager leaves behind
    (root / "notes").mkdir()  # a folder that is no run
    return root


def test_best_finished_run_skips_plain_files_and_folders_that_are_no_runs(tmp_path, audio_run):
    root = fresh_clone_checkpoints(tmp_path)
    assert best_finished_run(root, "audio", None) is None
    copied = root / "audio-1"
    shutil.copytree(audio_run, copied)
    data_root = folder.read_json(audio_run / folder.CONFIG)["data"]["root"]
    assert best_finished_run(root, "audio", data_root) == copied
    assert best_finished_run(root, "face", data_root) is None


def test_fusion_trains_on_out_of_fold_text_probabilities(small_corpus, tmp_path, audio_run):
    face = tmp_path / "face"
    text = tmp_path / "text"
    assert _train("face", small_corpus, face, *TINY, "--max-epochs", "2") == 0
    assert _train("text", small_corpus, text, "--min-df", "2") == 0
    # The audio source is the default one, found in a runs root as a fresh clone has it.
    runs_root = fresh_clone_checkpoints(tmp_path)
    shutil.copytree(audio_run, runs_root / "audio-1")
    fusion = tmp_path / "fusion"
    sources = ["--face-run", str(face), "--text-run", str(text), "--runs-root", str(runs_root)]
    assert _train("fusion", small_corpus, fusion, *sources, "--max-epochs", "3") == 0
    assert folder.read_json(fusion / folder.CONFIG)["sources"]["audio"] == str(
        (runs_root / "audio-1").resolve()
    )

    config = folder.read_json(fusion / folder.CONFIG)
    inputs, _ = fusion_inputs(config, ("train",))
    train = inputs["train"]
    has_text = train["x"]["mask"][:, 2] == 1
    oof = train_oof(text, train["ids"][has_text].tolist())
    np.testing.assert_allclose(train["x"]["text_prob"][has_text, 0], oof, rtol=1e-6)

    from core.data import Corpus
    from core.kinds.text_run import load_text_run

    ids, docs, _, _ = participant_documents(Corpus(small_corpus), "train", "participant")
    in_sample = load_text_run(text).predict_proba(docs)[:, 1]
    by_id = dict(zip(ids, in_sample, strict=True))
    fused = dict(zip(train["ids"][has_text].tolist(), oof, strict=True))
    assert any(abs(by_id[i] - fused[i]) > 1e-6 for i in fused)

    report = evaluate_run(fusion, "dev", n_boot=20)
    assert "late_fusion" in report and report["late_fusion"]["metrics"]["n"] > 0


def test_resume_of_a_folder_that_is_no_run_exits_2(tmp_path, capsys):
    assert main(["--resume", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_text_and_neural_runs_save_the_same_record_and_status(audio_run, small_corpus, tmp_path):
    # 30-second interviews: the default min_df=5 leaves no shared words in 10 documents per
    # fold (the run fails with that message), so this test, like the text tests, uses 2.
    assert _train("text", small_corpus, tmp_path / "text", "--min-df", "2") == 0
    text_record = folder.read_metrics(tmp_path / "text")[0]
    audio_record = folder.read_metrics(audio_run)[-1]
    assert set(text_record) == set(audio_record)
    text_status = folder.read_json(tmp_path / "text" / folder.STATUS)
    audio_status = folder.read_json(audio_run / folder.STATUS)
    assert set(text_status) == set(audio_status)
    assert (text_status["state"], text_status["reason"], text_status["epoch"]) == (
        "completed",
        "fitted",
        1,
    )


@pytest.mark.slow
def test_a_second_process_never_trains_a_run_being_trained(audio_run, tmp_path, capsys):
    import subprocess
    import sys

    from core.runs import manager
    from tests.runs.helpers import wait_for

    run_dir = tmp_path / "audio"
    shutil.copytree(audio_run, run_dir)
    first = subprocess.Popen(
        [sys.executable, "-m", "core.train", "--resume", str(run_dir), "--more-epochs", "400"]
        + ["--quiet", "--threads", "1"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(folder.read_metrics(run_dir)) >= 5, 60, "the first resume to train")
        assert main(["--resume", str(run_dir), "--more-epochs", "2", "--quiet"]) == 2
        assert "is busy: another process is training it" in capsys.readouterr().err
        assert folder.read_json(run_dir / folder.STATUS)["state"] == "running"
    finally:
        manager.stop_run(run_dir, timeout_s=20)
        first.wait(timeout=30)
    epochs = [r["epoch"] for r in folder.read_metrics(run_dir)]
    assert epochs == list(range(1, len(epochs) + 1))  # no duplicate or out-of-order epoch


def test_resume_is_refused_while_another_process_holds_the_run(audio_run, tmp_path, capsys):
    """The race two simultaneous resumes run: both read a status that is not running yet."""
    from core.runs.supervisor import take_training_lock

    run_dir = tmp_path / "audio"
    shutil.copytree(audio_run, run_dir)
    before = (run_dir / folder.METRICS).read_bytes()
    lock = take_training_lock(run_dir)  # what the other process holds before it writes
    try:
        assert main(["--resume", str(run_dir), "--more-epochs", "2", "--quiet"]) == 2
    finally:
        lock.release()
    assert "is busy" in capsys.readouterr().err
    assert (run_dir / folder.METRICS).read_bytes() == before
    assert folder.read_json(run_dir / folder.STATUS)["state"] != "failed"
    assert main(["--resume", str(run_dir), "--more-epochs", "1", "--quiet"]) == 0
