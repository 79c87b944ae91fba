import math

import pytest
import torch
from torch import nn

from core.hparams import by_name
from core.training.base import BaseTrainer
from core.training.callbacks import MONITORS, Callback, Monitor
from core.training.checkpoint import CheckpointError, load_checkpoint


class Scripted(BaseTrainer):
    """Validation loss and participant metrics come from a script."""

    def __init__(self, val_losses, auroc=None, **kwargs):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        kwargs.setdefault("progress", False)
        super().__init__(model, nn.CrossEntropyLoss(), optimizer, "cpu", **kwargs)
        self.script_val = list(val_losses)
        self.script_auroc = list(auroc or [0.5] * len(self.script_val))

    def train_epoch(self, loader):
        for _ in self.iter_batches(loader):
            pass
        return 1.0

    def validate(self, loader):
        auroc = self.script_auroc[self.epoch]
        return self.script_val[self.epoch], {"val_auroc": auroc, "val_macro_f1": auroc / 2}


def test_early_stopping_and_the_best_checkpoint_can_watch_the_dev_auroc(tmp_path):
    losses = [1.0, 0.9, 0.8, 0.7, 0.6]  # keeps falling: val_loss would never stop
    auroc = [0.5, 0.7, 0.6, 0.65, 0.69]  # best at epoch 2
    trainer = Scripted(losses, auroc, monitor="auroc", patience=3, run_dir=tmp_path)
    history = trainer.train([0], [0], n_epochs=10)
    assert trainer.status == "early-stopped" and trainer.epoch == 5
    assert trainer.stop_reason == (
        "no improvement in participant-level dev AUROC for 3 epochs (best 0.7 at epoch 2)"
    )
    assert [r["improved"] for r in history] == [True, True, False, False, False]
    assert history[-1]["best_val_auroc"] == 0.7 and history[-1]["best_epoch"] == 2
    assert load_checkpoint(tmp_path / "best_model.pth")["epoch"] == 2
    assert (
        load_checkpoint(tmp_path / "latest_checkpoint.pth")["config"]["training"]["monitor"]
        == "auroc"
    )


def test_by_default_the_validation_loss_is_watched(tmp_path):
    losses, auroc = [1.0, 0.9, 0.8, 0.7, 0.6], [0.5, 0.7, 0.6, 0.65, 0.69]
    trainer = Scripted(losses, auroc, patience=3, run_dir=tmp_path)
    history = trainer.train([0], [0], n_epochs=5)
    assert trainer.status == "completed" and history[-1]["best_val_loss"] == 0.6
    assert load_checkpoint(tmp_path / "best_model.pth")["epoch"] == 5


def test_the_lr_schedule_follows_the_monitor_direction():
    rising = [0.5, 0.6, 0.7, 0.8]
    watching_auroc = Scripted([1.0] * 4, rising, monitor="auroc", lr_patience=0)
    watching_auroc.train([0], [0], n_epochs=4)
    assert watching_auroc.learning_rates == [0.1] * 4  # AUROC rises: no plateau
    watching_loss = Scripted([1.0] * 4, rising, lr_patience=0)
    watching_loss.train([0], [0], n_epochs=4)
    assert watching_loss.learning_rates == pytest.approx([0.1, 0.1, 0.05, 0.025])  # flat loss


def test_macro_f1_is_watched_under_its_own_key():
    trainer = Scripted([1.0] * 3, [0.4, 0.8, 0.6], monitor="macro_f1", patience=0)
    history = trainer.train([0], [0], n_epochs=3)
    assert history[-1]["best_val_macro_f1"] == 0.4 and history[-1]["best_epoch"] == 2


def test_an_undefined_auroc_counts_as_no_improvement_not_a_failure():
    trainer = Scripted([1.0] * 3, [0.6, math.nan, math.nan], monitor="auroc", patience=2)
    history = trainer.train([0], [0], n_epochs=3)
    assert trainer.status == "early-stopped" and len(history) == 3
    assert [r["epochs_without_improvement"] for r in history] == [0, 1, 2]


def test_a_monitor_validation_does_not_report_fails_the_run_naming_it():
    class LossOnly(Scripted):
        def validate(self, loader):
            return 1.0, {}

    trainer = LossOnly([1.0], monitor="auroc")
    with pytest.raises(KeyError, match="monitor 'auroc' needs 'val_auroc'"):
        trainer.train([0], [0], n_epochs=1)
    assert trainer.status == "failed"


def test_an_unknown_monitor_is_refused():
    with pytest.raises(ValueError, match="allowed: val_loss, auroc, macro_f1"):
        Monitor("accuracy")


def test_a_run_resumes_only_with_the_monitor_it_was_started_with(tmp_path):
    Scripted([1.0] * 4, run_dir=tmp_path).train([0], [0], n_epochs=2)
    with pytest.raises(CheckpointError, match="watching 'val_loss', not 'auroc'"):
        Scripted([1.0] * 4, monitor="auroc").resume(tmp_path)


def test_checkpointing_comes_last_after_the_callers_callbacks(tmp_path):
    class Mine(Callback):
        pass

    trainer = Scripted([1.0], run_dir=tmp_path, callbacks=[Mine()], progress=True)
    names = [type(c).__name__ for c in trainer.ordered_callbacks()]
    assert names == ["EarlyStopping", "LRScheduler", "Mine", "TqdmProgress", "Checkpointing"]


def test_the_history_is_kept_once_and_the_loss_lists_are_read_only_views():
    trainer = Scripted([3.0, 2.0])
    trainer.train([0], [0], n_epochs=2)
    assert trainer.val_losses == [r["val_loss"] for r in trainer.history] == [3.0, 2.0]
    trainer.val_losses.append(9.0)  # a copy: the history is untouched
    assert len(trainer.history) == 2 and trainer.val_losses == [3.0, 2.0]
    with pytest.raises(AttributeError):
        trainer.train_losses = []


def old_format(path):
    """Rewrite a checkpoint in the layout written before the policies were callbacks."""
    ckpt = torch.load(path, weights_only=True)
    del ckpt["checkpointing"]
    saved = ckpt["early_stopping"]
    ckpt["early_stopping"] = {
        "best_loss": saved["best"],
        "best_epoch": saved["best_epoch"],
        "counter": saved["counter"],
        "patience": saved["patience"],
        "min_delta": saved["min_delta"],
    }
    torch.save(ckpt, path)


def test_a_checkpoint_of_the_older_layout_resumes_like_an_uninterrupted_run(tmp_path):
    losses = [1.0, 0.8, 0.9, 0.95, 0.85]  # best at epoch 2, never beaten after the resume
    kwargs = {"patience": 5, "lr_patience": 0}
    for name in ("straight", "old"):  # run folders exist before a run trains in them
        (tmp_path / name).mkdir()
    straight = Scripted(losses, run_dir=tmp_path / "straight", **kwargs)
    straight.train([0], [0], n_epochs=5)

    Scripted(losses, run_dir=tmp_path / "old", **kwargs).train([0], [0], n_epochs=3)
    old_format(tmp_path / "old" / "latest_checkpoint.pth")
    resumed = Scripted(losses, run_dir=tmp_path / "old", **kwargs)
    history = resumed.train([0], [0], n_epochs=5, resume_from=tmp_path / "old")

    def curve(h):
        keys = ("epoch", "val_loss", "lr", "best_val_loss", "improved", "best_epoch")
        return [{k: r[k] for k in keys} for r in h]

    assert curve(history) == curve(straight.history)
    assert load_checkpoint(tmp_path / "old" / "best_model.pth")["epoch"] == 2  # best kept
    assert resumed.checkpointing.best_epoch == 2


def test_the_monitor_hyper_parameter_offers_every_monitor():
    monitor = by_name("monitor")
    assert monitor.choices == tuple(MONITORS) and monitor.default == "val_loss"
