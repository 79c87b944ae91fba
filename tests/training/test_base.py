import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.training.base import BaseTrainer
from core.training.batches import WindowBatches
from core.training.callbacks import Callback
from core.training.checkpoint import load_checkpoint
from core.training.trainers import WindowClassifierTrainer, class_weights_from_participants
from tests.training.tiny import TinyNet


class ScriptedTrainer(BaseTrainer):
    """Losses come from a script, so early stopping and the scheduler can be checked."""

    def __init__(self, val_losses, train_losses=None, **kwargs):
        model = nn.Linear(2, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        kwargs.setdefault("progress", False)
        super().__init__(model, nn.CrossEntropyLoss(), optimizer, "cpu", **kwargs)
        self.script_val = list(val_losses)
        self.script_train = list(train_losses or [1.0] * len(self.script_val))

    def train_epoch(self, loader):
        for _ in self.iter_batches(loader):
            pass
        return self.script_train[self.epoch]  # self.epoch is the last completed epoch

    def validate(self, loader):
        return self.script_val[self.epoch], {"val_extra": self.epoch + 1}


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.calls, self.stop_at = [], stop_at

    def on_train_begin(self, trainer):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, trainer, record):
        self.calls.append(("epoch_end", record["epoch"]))
        if record["epoch"] == self.stop_at:
            trainer.request_stop("user pressed stop")

    def on_train_end(self, trainer):
        self.calls.append(("train_end", trainer.status))


def tiny_loaders(batch_size=16):
    gen = torch.Generator().manual_seed(0)
    pids = np.repeat(np.arange(900, 908), 6)  # 8 participants x 6 windows
    y = torch.tensor([0, 1] * 4).repeat_interleave(6)
    x = torch.randn(48, 5, 3, generator=gen) + 0.5 * y[:, None, None]  # (N, T, F)
    train = WindowBatches(x, y, pids, batch_size, shuffle=True, seed=1)
    val = WindowBatches(x[:24], y[:24], pids[:24], batch_size, shuffle=False)
    return train, val


def tiny_trainer(**kwargs):
    torch.manual_seed(0)
    model = TinyNet()
    kwargs.setdefault("progress", False)
    kwargs.setdefault("metrics_fn", lambda ids, probs, labels: {"n_val": len(set(ids))})
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return WindowClassifierTrainer(model, nn.CrossEntropyLoss(), optimizer, "cpu", **kwargs)


def test_early_stopping_stops_at_the_right_epoch_with_a_reason(tmp_path):
    trainer = ScriptedTrainer([1.0, 0.8, 0.9, 0.85, 0.81, 0.7], patience=3, run_dir=tmp_path)
    history = trainer.train([0, 1], [0], n_epochs=10)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert trainer.status == "early-stopped"
    assert trainer.stop_reason.startswith("no improvement in validation loss for 3 epochs")
    assert [r["epochs_without_improvement"] for r in history] == [0, 0, 1, 2, 3]
    assert [r["improved"] for r in history] == [True, True, False, False, False]
    assert history[-1]["best_val_loss"] == 0.8 and history[-1]["val_extra"] == 5
    assert load_checkpoint(tmp_path / "best_model.pth")["epoch"] == 2
    latest = load_checkpoint(tmp_path / "latest_checkpoint.pth")
    assert latest["epoch"] == 5 and latest["early_stopping"]["counter"] == 3


def test_resuming_an_early_stopped_run_trains_the_more_epochs_asked_for(tmp_path):
    losses = [1.0, 0.8, 0.9, 0.85, 0.81, 0.82, 0.83, 0.79, 0.80]  # stops at 5, improves at 8
    first = ScriptedTrainer(losses, patience=3, run_dir=tmp_path)
    first.train([0, 1], [0], n_epochs=5 + 4)
    assert (first.status, first.epoch) == ("early-stopped", 5)

    resumed = ScriptedTrainer(losses, patience=3, run_dir=tmp_path)
    history = resumed.train([0, 1], [0], n_epochs=5 + 4, resume_from=tmp_path)
    assert [r["epoch"] for r in history] == list(range(1, 10))  # 4 more, not 1
    assert resumed.status == "completed"
    assert [r["epochs_without_improvement"] for r in history[5:]] == [1, 2, 0, 1]
    assert "had early-stopped after 3 epochs" in history[5]["early_stopping_reset"]
    assert all("early_stopping_reset" not in r for r in history[:5] + history[6:])
    assert history[5]["best_val_loss"] == 0.8  # the best is kept, not forgotten


def test_resuming_with_a_new_patience_uses_it(tmp_path):
    losses = [1.0, 0.8, 0.9, 0.85, 0.81] + [0.9] * 10
    ScriptedTrainer(losses, patience=3, run_dir=tmp_path).train([0, 1], [0], n_epochs=15)
    resumed = ScriptedTrainer(losses, patience=6, run_dir=tmp_path)
    history = resumed.train([0, 1], [0], n_epochs=15, resume_from=tmp_path)
    assert resumed.status == "early-stopped" and resumed.epoch == 5 + 6
    assert load_checkpoint(tmp_path / "latest_checkpoint.pth")["early_stopping"]["patience"] == 6
    assert history[-1]["epochs_without_improvement"] == 6


def test_a_run_without_trouble_completes():
    trainer = ScriptedTrainer([3.0, 2.0, 1.0], patience=2)
    trainer.train([0], [0], n_epochs=3)
    assert (trainer.status, trainer.stop_reason) == ("completed", None)
    assert trainer.val_losses == [3.0, 2.0, 1.0] and trainer.train_losses == [1.0] * 3


def test_reduce_lr_on_plateau_lowers_the_rate_and_it_is_recorded():
    trainer = ScriptedTrainer([1.0] * 6, patience=0, lr_factor=0.5, lr_patience=1)
    history = trainer.train([0], [0], n_epochs=6)
    assert trainer.learning_rates == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])
    assert [r["lr"] for r in history] == trainer.learning_rates
    assert trainer.lr == pytest.approx(0.025)


def test_hooks_are_called_in_order_and_a_callback_can_stop_the_run():
    recorder = Recorder(stop_at=2)
    trainer = ScriptedTrainer([3.0, 2.0, 1.0, 0.5], callbacks=[recorder])
    trainer.train([0], [0], n_epochs=4)
    assert recorder.calls == [
        ("train_begin",),
        ("epoch_begin", 1),
        ("epoch_end", 1),
        ("epoch_begin", 2),
        ("epoch_end", 2),
        ("train_end", "stopped"),
    ]
    assert trainer.stop_reason == "user pressed stop" and len(trainer.history) == 2


def test_stop_check_mid_epoch_discards_the_partial_epoch(tmp_path):
    calls = itertools.count(1)
    # 3 batches per epoch; stop_check is asked before each: call 8 is in epoch 3.
    trainer = tiny_trainer(run_dir=tmp_path, stop_check=lambda: next(calls) >= 8)
    train, val = tiny_loaders()
    trainer.train(train, val, n_epochs=5)
    assert (trainer.status, trainer.stop_reason) == ("stopped", "stop requested")
    assert [r["epoch"] for r in trainer.history] == [1, 2] and len(trainer.train_losses) == 2
    latest = load_checkpoint(tmp_path / "latest_checkpoint.pth")
    assert latest["epoch"] == 2 and len(latest["history"]) == 2
    assert latest["train_losses"] == trainer.train_losses


class PoisonedLoss(nn.Module):
    """Cross-entropy that turns NaN once ``poisoned`` is set."""

    def __init__(self):
        super().__init__()
        self.poisoned = False

    def forward(self, logits, labels):
        loss = nn.functional.cross_entropy(logits, labels)
        return loss * math.nan if self.poisoned else loss


class PoisonAt(Callback):
    def __init__(self, loss, epoch):
        self.loss, self.epoch, self.ended = loss, epoch, []

    def on_epoch_begin(self, trainer, epoch):
        self.loss.poisoned = epoch >= self.epoch

    def on_epoch_end(self, trainer, record):
        self.ended.append(record["epoch"])


def test_nan_loss_fails_the_run_without_writing_a_bad_checkpoint(tmp_path):
    torch.manual_seed(0)
    model, loss = TinyNet(), PoisonedLoss()
    poison = PoisonAt(loss, epoch=3)
    trainer = WindowClassifierTrainer(
        model,
        loss,
        torch.optim.Adam(model.parameters(), lr=0.01),
        "cpu",
        run_dir=tmp_path,
        callbacks=[poison],
        progress=False,
    )
    train, val = tiny_loaders()
    trainer.train(train, val, n_epochs=6)
    assert trainer.status == "failed"
    assert trainer.stop_reason.startswith("non-finite loss (train_loss=nan")
    assert trainer.stop_reason.endswith("at epoch 3")
    assert len(trainer.history) == 2 and poison.ended == [1, 2]
    assert load_checkpoint(tmp_path / "latest_checkpoint.pth")["epoch"] == 2
    best = load_checkpoint(tmp_path / "best_model.pth")
    assert best["epoch"] <= 2
    assert all(torch.isfinite(t).all() for t in best["model_state_dict"].values())


def test_an_exception_marks_the_run_failed_and_propagates():
    class Broken(ScriptedTrainer):
        def train_epoch(self, loader):
            raise RuntimeError("shape mismatch")

    recorder = Recorder()
    trainer = Broken([1.0], callbacks=[recorder])
    with pytest.raises(RuntimeError, match="shape mismatch"):
        trainer.train([0], [0], n_epochs=2)
    assert (trainer.status, trainer.stop_reason) == ("failed", "RuntimeError: shape mismatch")
    assert recorder.calls[-1] == ("train_end", "failed")


def test_checkpoint_describes_the_run_and_loads_weights_only(tmp_path):
    data_config = {"features": ["F0", "NAQ", "QOQ"], "mean": np.zeros(3), "window": 5}
    trainer = tiny_trainer(run_dir=tmp_path, config={"data": data_config, "seed": 0})
    train, val = tiny_loaders()
    trainer.train(train, val, n_epochs=2)
    ckpt = torch.load(tmp_path / "latest_checkpoint.pth", weights_only=True)
    assert set(ckpt) == {
        "format_version", "epoch", "model_state_dict", "optimizer_state_dict",
        "scheduler_state_dict", "scaler_state_dict", "train_loss", "val_loss",
        "train_losses", "val_losses", "learning_rates", "history", "early_stopping",
        "rng_state", "loader_states", "config", "checkpointing",
    }  # fmt: skip
    best_epoch = min(trainer.history, key=lambda r: r["val_loss"])["epoch"]
    assert ckpt["checkpointing"]["best_epoch"] == best_epoch
    assert ckpt["early_stopping"]["monitor"] == config_monitor(ckpt) == "val_loss"
    config = ckpt["config"]
    assert config["model"] == {"class": "TinyNet", "init_kwargs": TinyNet().init_kwargs}
    assert config["data"]["mean"] == [0.0, 0.0, 0.0] and config["seed"] == 0
    assert config["training"]["trainer"] == "WindowClassifierTrainer"
    assert config["training"]["lr"] == 0.01 and config["training"]["optimizer"] == "Adam"
    assert ckpt["history"][-1]["n_val"] == 4 and ckpt["val_loss"] == trainer.val_losses[-1]
    assert set(ckpt["loader_states"]) == {"train", "val"}


def config_monitor(ckpt):
    return ckpt["config"]["training"]["monitor"]


def test_no_run_dir_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer = tiny_trainer()
    trainer.train(*tiny_loaders(), n_epochs=1)
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_shows_epochs(capsys):
    ScriptedTrainer([1.0, 0.5], progress=True).train([0], [0], n_epochs=2)
    assert "2/2" in capsys.readouterr().err


def test_class_weights_count_participants_not_windows():
    weights = class_weights_from_participants([0, 0, 0, 1])
    assert weights.dtype == torch.float32
    assert weights.tolist() == pytest.approx([4 / 6, 2.0])
    by_id = class_weights_from_participants({900: 1, 901: 0, 902: 0, 903: 0})
    assert torch.equal(by_id, weights)
    with pytest.raises(ValueError, match="each of 2 classes"):
        class_weights_from_participants([0, 0])
    with pytest.raises(ValueError):
        class_weights_from_participants([])
