"""The shared training loop: epochs, validation and the hooks that react to them.

Subclasses say how one epoch trains and how validation scores. Everything that *reacts*
to an epoch (early stopping, the LR schedule, checkpoints, the progress bar, the
caller's callbacks) is a callback (:mod:`core.training.callbacks`), so the loop in
:meth:`BaseTrainer.train` stays a dozen lines and the history is kept once, as a list
of per-epoch dicts.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.states import RunState
from core.training.callbacks import (
    Callback,
    Checkpointing,
    EarlyStopping,
    LRScheduler,
    Monitor,
    TqdmProgress,
)
from core.training.checkpoint import to_plain
from core.training.early_stopping import non_finite_reason
from core.training.history import epoch_record
from core.training.resume import restore_trainer, trainer_payload

__all__ = ["BaseTrainer", "Callback", "TqdmProgress"]


class BaseTrainer(ABC):
    """Trains a model epoch by epoch and records what happened.

    Parameters
    ----------
    model : NeuralClassifier
        Moved to ``device`` here (parameters keep their identity, so an optimizer built
        before or after works).
    criterion : callable
        Loss ``criterion(logits, labels)``; an ``nn.Module`` is moved to ``device``.
    optimizer : torch.optim.Optimizer
        Over the model's parameters.
    device : torch.device or str
        Chosen once by the caller (see :func:`core.training.device.choose_device`).
    scheduler : torch.optim.lr_scheduler.ReduceLROnPlateau, optional
        Stepped on the monitored value each epoch; by default one is built with
        ``lr_factor`` and ``lr_patience``.
    lr_factor, lr_patience : float, int
        Settings of the default scheduler.
    patience : int, default 10
        Early-stopping patience in epochs (0 disables early stopping).
    min_delta : float, default 0.0
        Smallest improvement of the monitored value that counts.
    monitor : {"val_loss", "auroc", "macro_f1"}, default "val_loss"
        What early stopping, the LR schedule and the best checkpoint watch: the
        validation loss, or the participant-level dev AUROC or macro-F1 that
        ``validate`` reports as ``val_auroc`` / ``val_macro_f1``.
    run_dir : str or Path, optional
        Folder for ``latest_checkpoint.pth`` and ``best_model.pth``; None writes no files.
    config : mapping, optional
        The run's configuration (training, data windows, feature names, normaliser
        statistics, ...), stored in every checkpoint. ``model`` (class name and
        ``init_kwargs``) and ``training`` defaults are filled in when missing.
    callbacks : sequence of Callback, optional
        Objects reacting to training (see :class:`~core.training.callbacks.Callback`),
        called after early stopping and the LR schedule and before checkpointing.
    stop_check : callable, optional
        Called between batches; returning True stops the run cooperatively.
    amp : bool, default False
        Mixed precision (autocast + GradScaler); used on CUDA only, ignored elsewhere.
    progress : bool, default True
        Show a per-epoch tqdm bar.

    Attributes
    ----------
    epoch : int
        Last completed epoch (0 before training).
    history : list of dict
        One record per completed epoch (see :meth:`train`): the only copy.
    train_losses, val_losses, learning_rates : list of float
        Read-only views of :attr:`history`; ``learning_rates`` holds the rate used in
        each epoch.
    early_stopping, lr_schedule, checkpointing : Callback
        The policies (``checkpointing`` is None without ``run_dir``).
    status : RunState or None
        None before :meth:`train`; *running* while it trains; then how it ended:
        *completed*, *early-stopped*, *stopped* or *failed*
        (:class:`core.states.RunState`).
    stop_reason : str or None
        Why the run ended early.
    """

    def __init__(
        self,
        model: nn.Module,
        criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        device: torch.device | str,
        *,
        scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None,
        lr_factor: float = 0.5,
        lr_patience: int = 3,
        patience: int = 10,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        run_dir: str | Path | None = None,
        config: Mapping[str, Any] | None = None,
        callbacks: Sequence[Any] = (),
        stop_check: Callable[[], bool] | None = None,
        amp: bool = False,
        progress: bool = True,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        if isinstance(criterion, nn.Module):
            criterion = criterion.to(self.device)  # e.g. class weights move with the loss
        self.criterion = criterion
        self.optimizer = optimizer
        self.monitor = Monitor(monitor)
        self.early_stopping = EarlyStopping(self.monitor, patience, min_delta)
        self.lr_schedule = LRScheduler(optimizer, self.monitor, lr_factor, lr_patience, scheduler)
        self.checkpointing = Checkpointing(run_dir, self.monitor) if run_dir is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks) + ([TqdmProgress()] if progress else [])
        self.stop_check = stop_check
        self.use_amp = bool(amp) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.config = self._complete_config(config, lr_factor, lr_patience, amp)
        self.epoch, self.n_epochs = 0, 0
        self.history: list[dict[str, Any]] = []
        self.status: RunState | None = None
        self.stop_reason: str | None = None
        self.should_stop = False
        self._stop_status = RunState.STOPPED
        self.loaders: dict[str, Any] = {}
        self._epoch_started = 0.0

    # ----------------------------------------------------------------- subclass API
    @abstractmethod
    def train_epoch(self, loader: Any) -> float:
        """Train one pass over ``loader``; return the mean training loss.

        Iterate with :meth:`iter_batches` so a stop request ends the epoch early.
        """

    @abstractmethod
    def validate(self, loader: Any) -> tuple[float, dict[str, Any]]:
        """Score ``loader``; return the validation loss and extra metrics for the history."""

    # ----------------------------------------------------------------- the loop
    def train(
        self,
        train_loader: Any,
        val_loader: Any,
        n_epochs: int,
        resume_from: str | Path | None = None,
    ) -> list[dict[str, Any]]:
        """Train until ``n_epochs`` epochs in total are done or something stops the run.

        Parameters
        ----------
        train_loader, val_loader : iterable
            Batches (e.g. :class:`~core.training.batches.WindowBatches`). Loaders with
            ``state_dict``/``load_state_dict`` have their shuffling state checkpointed.
        n_epochs : int
            Total epoch count: resuming after 3 epochs with ``n_epochs=5`` runs 4 and 5.
        resume_from : str or Path, optional
            A checkpoint file, or a run folder holding ``latest_checkpoint.pth``.

        Returns
        -------
        list of dict
            :attr:`history`: per epoch ``epoch``, ``train_loss``, ``val_loss``, ``lr``,
            ``elapsed_s``, what ``validate`` returned as extras, then what early stopping
            adds: ``best_<monitored key>`` (``best_val_loss`` by default),
            ``best_epoch``, ``improved``, ``epochs_without_improvement``, and on the
            first epoch after a resume that reset early stopping,
            ``early_stopping_reset`` (why).
        """
        self.loaders = {"train": train_loader, "val": val_loader}
        self.n_epochs = int(n_epochs)
        self.status, self.stop_reason, self.should_stop = RunState.RUNNING, None, False
        try:
            if resume_from is not None:
                self.resume(resume_from)
            self._call_hooks("on_train_begin")
            for epoch in range(self.epoch + 1, self.n_epochs + 1):
                self._begin_epoch(epoch)
                train_loss = self.train_epoch(train_loader)
                if self.should_stop:  # stopped mid-epoch: discard it, the checkpoint is exact
                    break
                record = self._record(epoch, train_loss, *self.validate(val_loader))
                if record is not None:  # None: a non-finite loss, nothing was recorded
                    self._call_hooks("on_epoch_end", record)
                if self.should_stop:
                    break
        except KeyboardInterrupt:
            self._finish(RunState.STOPPED, "interrupted (KeyboardInterrupt)")
            raise
        except Exception as exc:
            self._finish(RunState.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        ended = self._stop_status if self.should_stop else RunState.COMPLETED
        self._finish(ended, self.stop_reason)
        return self.history

    def request_stop(self, reason: str, status: str = RunState.STOPPED) -> None:
        """Ask the run to stop at the next batch boundary (safe to call from a callback).

        Parameters
        ----------
        reason : str
            Recorded as :attr:`stop_reason`.
        status : {"stopped", "early-stopped", "failed"}, default "stopped"
            The status the run ends with; a failure overrides an earlier request.
        """
        if self.should_stop and status != RunState.FAILED:
            return
        self.should_stop, self.stop_reason, self._stop_status = True, reason, RunState(status)

    def stop_requested(self) -> bool:
        """Return whether the run should stop, consulting ``stop_check`` if set."""
        if not self.should_stop and self.stop_check is not None and self.stop_check():
            self.request_stop("stop requested")
        return self.should_stop

    def iter_batches(self, loader: Iterable[Any]) -> Iterator[Any]:
        """Yield the loader's batches until a stop is requested."""
        for batch in loader:
            if self.stop_requested():
                return
            yield batch

    # ----------------------------------------------------------------- helpers for subclasses
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Mixed-precision context when AMP is on (CUDA), otherwise a no-op."""
        if not self.use_amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type)

    def optimizer_step(self, loss: torch.Tensor, max_grad_norm: float | None = None) -> None:
        """Back-propagate ``loss`` and step the optimizer (through the scaler under AMP).

        Parameters
        ----------
        loss : torch.Tensor
            Scalar loss of the batch.
        max_grad_norm : float, optional
            Clip the gradient norm to this value first.
        """
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if max_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()

    # ----------------------------------------------------------------- views of the history
    @property
    def lr(self) -> float:
        """Current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def train_losses(self) -> list[float]:
        """Mean training loss of each completed epoch (a copy, read from the history)."""
        return [r["train_loss"] for r in self.history]

    @property
    def val_losses(self) -> list[float]:
        """Validation loss of each completed epoch (a copy, read from the history)."""
        return [r["val_loss"] for r in self.history]

    @property
    def learning_rates(self) -> list[float]:
        """Learning rate used in each completed epoch (a copy, read from the history)."""
        return [r["lr"] for r in self.history]

    @property
    def scheduler(self) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
        """The LR schedule's scheduler."""
        return self.lr_schedule.scheduler

    @property
    def patience(self) -> int:
        """Early-stopping patience in epochs."""
        return self.early_stopping.patience

    # ----------------------------------------------------------------- reactions to an epoch
    def ordered_callbacks(self) -> list[Any]:
        """Every callback in calling order: policies first, checkpointing last."""
        last = [self.checkpointing] if self.checkpointing is not None else []
        return [self.early_stopping, self.lr_schedule, *self.callbacks, *last]

    def _begin_epoch(self, epoch: int) -> None:
        self._epoch_started = time.perf_counter()
        self._call_hooks("on_epoch_begin", epoch)

    def _record(
        self, epoch: int, train_loss: float, val_loss: float, extras: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Append one finished epoch to the history; a non-finite loss fails the run."""
        train_loss, val_loss = float(train_loss), float(val_loss)
        bad = non_finite_reason(train_loss, val_loss)
        if bad is not None:
            self.request_stop(f"{bad} at epoch {epoch}", status=RunState.FAILED)
            return None  # nothing recorded, no checkpoint: the latest one stays good
        elapsed_s = time.perf_counter() - self._epoch_started
        record = epoch_record(epoch, train_loss, val_loss, self.lr, elapsed_s, extras)
        self.epoch = epoch
        self.history.append(record)
        return record

    def _finish(self, status: RunState, reason: str | None) -> None:
        self.status, self.stop_reason = status, reason
        self._call_hooks("on_train_end")

    def _call_hooks(self, name: str, *args: Any) -> None:
        for callback in self.ordered_callbacks():
            hook = getattr(callback, name, None)
            if hook is not None:
                hook(self, *args)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything needed to resume exactly (:func:`.resume.trainer_payload`)."""
        return trainer_payload(self)

    def resume(self, path: str | Path) -> dict[str, Any]:
        """Continue from a checkpoint; see :func:`~core.training.resume.restore_trainer`.

        Called by ``train(resume_from=...)``. Early stopping continues as saved, except
        that a counter which already reached the patience (the run had early-stopped)
        restarts at 0; the patience is this trainer's, so a resumed run may be given a
        new one.

        Parameters
        ----------
        path : str or Path
            A checkpoint file, or a run folder holding ``latest_checkpoint.pth``.

        Returns
        -------
        dict
            The loaded checkpoint.

        Raises
        ------
        CheckpointError
            If the file cannot be read or does not fit this trainer's model or monitor.
        """
        return restore_trainer(self, path)

    def _complete_config(
        self, config: Mapping[str, Any] | None, lr_factor: float, lr_patience: int, amp: bool
    ) -> dict[str, Any]:
        """Return the caller's config with model and training descriptions filled in."""
        config = dict(config or {})
        model_info = {
            "class": type(self.model).__name__,
            "init_kwargs": dict(getattr(self.model, "init_kwargs", {})),
        }
        training = {
            "trainer": type(self).__name__,
            "optimizer": type(self.optimizer).__name__,
            "lr": self.lr,
            "weight_decay": self.optimizer.param_groups[0].get("weight_decay", 0.0),
            "lr_factor": lr_factor,
            "lr_patience": lr_patience,
            "patience": self.early_stopping.patience,
            "min_delta": self.early_stopping.min_delta,
            "monitor": self.monitor.name,
            "amp": bool(amp),
            "device": str(self.device),
        }
        config["model"] = {**model_info, **dict(config.get("model", {}))}
        config["training"] = {**training, **dict(config.get("training", {}))}
        return to_plain(config)
