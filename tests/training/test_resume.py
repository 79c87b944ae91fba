import itertools

import numpy as np
import pytest
import torch
from torch import nn

from core.training.batches import WindowBatches
from core.training.checkpoint import CheckpointError, load_checkpoint
from core.training.trainers import WindowClassifierTrainer
from tests.training.tiny import TinyNet


class OtherNet(TinyNet):
    pass


def loaders():
    gen = torch.Generator().manual_seed(0)
    pids = np.repeat(np.arange(900, 908), 6)
    y = torch.tensor([0, 1] * 4).repeat_interleave(6)
    x = torch.randn(48, 5, 3, generator=gen) + 0.3 * y[:, None, None]  # (N, T, F)
    train = WindowBatches(x, y, pids, 10, shuffle=True, seed=7)  # 5 batches, the last short
    # flipped validation labels: validation loss rises, so the LR scheduler must act
    val = WindowBatches(x[::2], 1 - y[::2], pids[::2], 8, shuffle=False)
    return train, val


def trainer(run_dir, model_seed=0, model_class=TinyNet, **kwargs):
    if run_dir is not None:  # a run folder exists before a run trains in it
        run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(model_seed)  # a resumed trainer starts from other weights on purpose
    model = model_class()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-4)
    return WindowClassifierTrainer(
        model,
        nn.CrossEntropyLoss(weight=torch.tensor([0.8, 1.3])),
        optimizer,
        "cpu",
        run_dir=run_dir,
        lr_patience=0,  # so the LR schedule changes within the run
        lr_factor=0.5,
        patience=20,
        max_grad_norm=0.5,
        progress=False,
        metrics_fn=lambda ids, probs, labels: {"mean_prob": float(probs.mean())},
        **kwargs,
    )


def curves(t):
    return t.train_losses, t.val_losses, t.learning_rates, [r["mean_prob"] for r in t.history]


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one_exactly(tmp_path):
    torch.manual_seed(123)
    straight = trainer(tmp_path / "straight")
    straight.train(*loaders(), n_epochs=6)
    assert straight.status == "completed"

    calls = itertools.count(1)  # 5 batches per epoch: call 19 is the 4th batch of epoch 4
    torch.manual_seed(123)
    first = trainer(tmp_path / "resumed", stop_check=lambda: next(calls) >= 19)
    first.train(*loaders(), n_epochs=6)
    assert first.status == "stopped" and first.epoch == 3

    torch.manual_seed(999)  # global RNG elsewhere: the checkpoint must restore it
    second = trainer(tmp_path / "resumed", model_seed=1)
    history = second.train(*loaders(), n_epochs=6, resume_from=tmp_path / "resumed")
    assert second.status == "completed"
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert curves(second) == curves(straight)  # exact, not approximate
    assert min(straight.learning_rates) < 0.05  # the scheduler really acted
    for name, value in straight.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], value), name


def test_n_epochs_is_the_total_so_resume_runs_only_the_rest(tmp_path):
    first = trainer(tmp_path)
    first.train(*loaders(), n_epochs=3)
    second = trainer(tmp_path)
    seen = []
    second.callbacks.append(type("Seen", (), {"on_epoch_begin": lambda s, t, e: seen.append(e)})())
    second.train(*loaders(), n_epochs=5, resume_from=tmp_path / "latest_checkpoint.pth")
    assert seen == [4, 5] and second.epoch == 5
    assert second.train_losses[:3] == first.train_losses
    assert load_checkpoint(tmp_path / "latest_checkpoint.pth")["epoch"] == 5
    third = trainer(tmp_path)
    third.train(*loaders(), n_epochs=5, resume_from=tmp_path)  # nothing left to do
    assert third.status == "completed" and len(third.history) == 5


def test_resume_refuses_another_model(tmp_path):
    trainer(tmp_path).train(*loaders(), n_epochs=1)
    with pytest.raises(CheckpointError, match="holds a TinyNet, not a OtherNet"):
        trainer(tmp_path, model_class=OtherNet).resume(tmp_path)


def test_resume_refuses_weights_of_another_shape(tmp_path):
    trainer(tmp_path).train(*loaders(), n_epochs=1)
    torch.manual_seed(0)
    model = TinyNet(hidden_size=4, dropout=0.5)
    other = WindowClassifierTrainer(
        model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters()), "cpu", progress=False
    )
    with pytest.raises(CheckpointError, match="latest_checkpoint.pth: does not fit"):
        other.resume(tmp_path)


def test_resume_from_a_missing_run_names_the_file(tmp_path):
    run = trainer(None)
    with pytest.raises(CheckpointError, match="latest_checkpoint.pth: file not found"):
        run.train(*loaders(), n_epochs=2, resume_from=tmp_path)
    assert run.status == "failed" and "file not found" in run.stop_reason


def test_an_early_stopped_cli_run_resumes_for_more_epochs_with_early_stopping_reset(
    small_corpus, tmp_path
):
    from core.runs import folder
    from core.train import main

    run_dir = tmp_path / "run"
    tiny = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "8", "--device", "cpu"]
    args = ["audio", "--data", str(small_corpus), "--run-dir", str(run_dir), "--quiet", *tiny]
    assert main([*args, "--max-epochs", "60", "--patience", "2"]) == 0
    assert folder.read_json(run_dir / folder.STATUS)["state"] == "early-stopped"
    done = len(folder.read_metrics(run_dir))

    assert main(["--resume", str(run_dir), "--more-epochs", "4", "--quiet"]) == 0
    config = folder.read_json(run_dir / folder.CONFIG)
    assert config["training"]["max_epochs"] == done + 4
    new = folder.read_metrics(run_dir)[done:]
    assert len(new) >= 2  # patience 2 counts afresh: not stopped again after one epoch
    assert "had early-stopped after 2 epochs" in new[0]["early_stopping_reset"]
    assert "early stopping reset on resume" in (run_dir / folder.LOG).read_text()

    assert main(["--resume", str(run_dir), "--more-epochs", "3", "--patience", "50"]) == 0
    status = folder.read_json(run_dir / folder.STATUS)
    assert status["state"] == "completed" and status["epoch"] == done + len(new) + 3
    assert folder.read_json(run_dir / folder.CONFIG)["training"]["patience"] == 50


def test_a_cli_run_watching_the_dev_auroc_records_and_checkpoints_by_it(small_corpus, tmp_path):
    from core.runs import folder
    from core.train import main

    run_dir = tmp_path / "run"
    tiny = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "8", "--device", "cpu"]
    args = ["audio", "--data", str(small_corpus), "--run-dir", str(run_dir), "--quiet", *tiny]
    assert main([*args, "--max-epochs", "3", "--monitor", "auroc"]) == 0
    records = folder.read_metrics(run_dir)
    assert all("best_val_auroc" in r and "best_val_loss" not in r for r in records)
    best = load_checkpoint(run_dir / "best_model.pth")
    assert best["config"]["training"]["monitor"] == "auroc"
    assert best["epoch"] == records[-1]["best_epoch"]
