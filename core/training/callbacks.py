"""What reacts to an epoch: early stopping, the LR schedule, checkpoints, a progress bar.

Each policy is a callback with its own state (``state_dict``/``load_state_dict``, saved
in every checkpoint under its ``state_key``) and a :class:`Monitor` naming the value it
watches in the epoch's history record. :class:`~core.training.base.BaseTrainer` calls
the policies in the order early stopping, LR schedule, the caller's callbacks, the
progress bar, checkpointing: the checkpoint is written last, so it holds everyone's
state after the epoch.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from tqdm.auto import tqdm

from core.states import RunState
from core.training.checkpoint import BEST_NAME, LATEST_NAME, save_checkpoint, to_plain
from core.training.early_stopping import (
    EarlyStoppingState,
    early_stopping_decision,
    resumed_state,
)

if TYPE_CHECKING:
    from core.training.base import BaseTrainer

log = logging.getLogger(__name__)

#: What a policy may watch: name -> (history key, direction, words for messages).
MONITORS: dict[str, tuple[str, Literal["min", "max"], str]] = {
    "val_loss": ("val_loss", "min", "validation loss"),
    "auroc": ("val_auroc", "max", "participant-level dev AUROC"),
    "macro_f1": ("val_macro_f1", "max", "participant-level dev macro-F1"),
}


@dataclass(frozen=True)
class Monitor:
    """The value a policy watches in each epoch's history record.

    Parameters
    ----------
    name : {"val_loss", "auroc", "macro_f1"}, default "val_loss"
        Validation loss (lower is better), or the participant-level dev AUROC or
        macro-F1 (higher is better).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`MONITORS`.
    """

    name: str = "val_loss"

    def __post_init__(self) -> None:
        if self.name not in MONITORS:
            raise ValueError(f"monitor {self.name!r}: allowed: {', '.join(MONITORS)}")

    @property
    def key(self) -> str:
        """The history key watched, e.g. ``val_auroc``."""
        return MONITORS[self.name][0]

    @property
    def mode(self) -> Literal["min", "max"]:
        """``min`` when lower is better, else ``max``."""
        return MONITORS[self.name][1]

    @property
    def label(self) -> str:
        """The value in words, for reasons and logs."""
        return MONITORS[self.name][2]

    def value(self, record: dict[str, Any]) -> float:
        """The watched value of one epoch's record (NaN when the metric is undefined).

        Raises
        ------
        KeyError
            If validation does not report the value at all, with what it does report.
        """
        if self.key not in record:
            raise KeyError(
                f"monitor {self.name!r} needs {self.key!r} in each epoch's record; "
                f"validation reported {sorted(record)}"
            )
        value = record[self.key]
        return math.nan if value is None else float(value)

    def better(self, value: float, best: float) -> bool:
        """Whether ``value`` beats ``best`` (a NaN value never does)."""
        return value < best if self.mode == "min" else value > best


class Callback:
    """Something that reacts to training; every method is optional and does nothing here.

    Callbacks are plain objects: subclass this or write any object with some of these
    methods. They are called with the trainer first.
    """

    def on_train_begin(self, trainer: BaseTrainer) -> None:
        """Before the first epoch of this call to ``train`` (after any resume)."""

    def on_epoch_begin(self, trainer: BaseTrainer, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based) trains."""

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:
        """After an epoch is recorded; ``record`` is its history entry (callbacks may add)."""

    def on_train_end(self, trainer: BaseTrainer) -> None:
        """When ``train`` returns or raises; ``trainer.status`` holds the outcome."""


class EarlyStopping(Callback):
    """Stops the run once the monitored value has not improved for ``patience`` epochs.

    Adds to each record ``best_epoch``, ``improved``, ``epochs_without_improvement`` and
    ``best_<key>`` (``best_val_loss`` by default), and once after a resume that reset the
    counter, ``early_stopping_reset`` (why).

    Parameters
    ----------
    monitor : Monitor
        What to watch.
    patience : int
        Epochs without improvement tolerated; 0 or less never stops (the best is still
        tracked for the records).
    min_delta : float, default 0.0
        Smallest change that counts as an improvement.
    """

    state_key = "early_stopping"

    def __init__(self, monitor: Monitor, patience: int, min_delta: float = 0.0) -> None:
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.state = EarlyStoppingState(best=_worst(monitor))
        self.reset_reason: str | None = None

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:  # noqa: D102
        epoch = record["epoch"]
        self.state, stop, reason = early_stopping_decision(
            self.state,
            epoch,
            self.monitor.value(record),
            self.patience,
            self.min_delta,
            mode=self.monitor.mode,
            what=self.monitor.label,
        )
        record[f"best_{self.monitor.key}"] = self.state.best
        record["best_epoch"] = self.state.best_epoch
        record["improved"] = self.state.best_epoch == epoch
        record["epochs_without_improvement"] = self.state.counter
        if self.reset_reason is not None:
            record["early_stopping_reset"], self.reset_reason = self.reset_reason, None
        if stop:
            trainer.request_stop(reason or "early stopping", status=RunState.EARLY_STOPPED)

    def state_dict(self) -> dict[str, Any]:
        """The counter and best value, with the patience, ``min_delta`` and monitor."""
        return {
            **self.state.to_dict(),
            "patience": self.patience,
            "min_delta": self.min_delta,
            "monitor": self.monitor.name,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved state; see :func:`~core.training.early_stopping.resumed_state`.

        A counter that already reached the patience (the run had early-stopped) restarts
        at 0; the patience is this callback's, so a resumed run may be given a new one.
        """
        saved_patience = int(state.get("patience", self.patience))
        self.state, self.reset_reason = resumed_state(
            EarlyStoppingState.from_dict(state), saved_patience, self.patience
        )
        if self.reset_reason is not None:
            log.info("%s", self.reset_reason)


class LRScheduler(Callback):
    """Steps a ``ReduceLROnPlateau`` schedule on the monitored value after each epoch.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Whose learning rate is lowered.
    monitor : Monitor
        What the plateau is judged on (its mode sets the scheduler's).
    factor, patience : float, int
        Settings of the default scheduler.
    scheduler : torch.optim.lr_scheduler.ReduceLROnPlateau, optional
        Use this one instead of building one.
    """

    state_key = "scheduler_state_dict"

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        monitor: Monitor,
        factor: float = 0.5,
        patience: int = 3,
        scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None,
    ) -> None:
        self.monitor = monitor
        self.scheduler = scheduler or torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=monitor.mode, factor=factor, patience=patience
        )

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:  # noqa: D102
        self.scheduler.step(self.monitor.value(record))

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, as plain values."""
        return to_plain(self.scheduler.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the scheduler's state."""
        self.scheduler.load_state_dict(state)


class Checkpointing(Callback):
    """Writes ``latest_checkpoint.pth`` every epoch and ``best_model.pth`` on improvement.

    Runs last, so the checkpoint holds every other callback's state after the epoch.
    The best is the strictly best monitored value so far (``min_delta`` is early
    stopping's business, not the best model's).

    Parameters
    ----------
    run_dir : str or Path
        Where both files go.
    monitor : Monitor
        What "best" means.
    """

    state_key = "checkpointing"

    def __init__(self, run_dir: str | Path, monitor: Monitor) -> None:
        self.run_dir, self.monitor = Path(run_dir), monitor
        self.best, self.best_epoch = _worst(monitor), 0

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:  # noqa: D102
        self._offer(self.monitor.value(record), record["epoch"])
        payload = trainer.checkpoint_payload()
        if self.best_epoch == record["epoch"]:
            save_checkpoint(self.run_dir / BEST_NAME, payload)
        save_checkpoint(self.run_dir / LATEST_NAME, payload)

    def state_dict(self) -> dict[str, Any]:
        """The best monitored value and its epoch."""
        return {"best": self.best, "best_epoch": self.best_epoch, "monitor": self.monitor.name}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the best value and its epoch."""
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])

    def restore_from_history(self, history: list[dict[str, Any]]) -> None:
        """Find the best in the history: for checkpoints written before this callback."""
        for record in history:
            self._offer(self.monitor.value(record), int(record["epoch"]))

    def _offer(self, value: float, epoch: int) -> None:
        if self.monitor.better(value, self.best):  # the first finite value beats the start
            self.best, self.best_epoch = value, epoch


class TqdmProgress(Callback):
    """Per-epoch tqdm bar showing the latest losses and learning rate."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_train_begin(self, trainer: BaseTrainer) -> None:  # noqa: D102
        self.bar = tqdm(
            total=trainer.n_epochs,
            initial=min(trainer.epoch, trainer.n_epochs),
            desc=type(trainer.model).__name__,
            unit="epoch",
        )

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:  # noqa: D102
        self.bar.set_postfix(
            train=f"{record['train_loss']:.4f}", val=f"{record['val_loss']:.4f}", lr=record["lr"]
        )
        self.bar.update(1)

    def on_train_end(self, trainer: BaseTrainer) -> None:  # noqa: D102
        if self.bar is not None:
            self.bar.close()


def _worst(monitor: Monitor) -> float:
    """The starting "best": +inf for a value to minimise, -inf for one to maximise."""
    return math.inf if monitor.mode == "min" else -math.inf
