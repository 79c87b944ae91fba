"""The shared training loop: epochs, validation, LR schedule, early stopping, checkpoints.

Subclasses say how one epoch trains and how validation scores; everything that
*reacts* to an epoch (history, scheduler, early stopping, checkpoints, callbacks) lives
here, so the loop in :meth:`BaseTrainer.train` stays a dozen lines.
"""

from __future__ import annotations

import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from core.training.checkpoint import (
    BEST_NAME,
    FORMAT_VERSION,
    LATEST_NAME,
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
    to_plain,
)
from core.training.early_stopping import (
    EarlyStoppingState,
    early_stopping_decision,
    non_finite_reason,
    resumed_state,
)

log = logging.getLogger(__name__)

STATUSES = ("created", "running", "completed", "early-stopped", "stopped", "failed")


class Callback:
    """Something that reacts to training; every method is optional and does nothing here.

    Callbacks are plain objects: subclass this or write any object with some of these
    methods. They are called in list order, always with the trainer first.
    """

    def on_train_begin(self, trainer: BaseTrainer) -> None:
        """Before the first epoch of this call to ``train`` (after any resume)."""

    def on_epoch_begin(self, trainer: BaseTrainer, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based) trains."""

    def on_epoch_end(self, trainer: BaseTrainer, record: dict[str, Any]) -> None:
        """After an epoch is recorded and checkpointed; ``record`` is its history entry."""

    def on_train_end(self, trainer: BaseTrainer) -> None:
        """When ``train`` returns or raises; ``trainer.status`` holds the outcome."""


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


def class_weights_from_participants(
    participant_labels: Iterable[int] | Mapping[Any, int], n_classes: int = 2
) -> torch.Tensor:
    """Class weights ``n / (n_classes * n_c)`` counted over participants, not windows.

    Parameters
    ----------
    participant_labels : iterable of int, or mapping of participant ID to int
        One label per participant.
    n_classes : int, default 2
        Number of classes.

    Returns
    -------
    torch.Tensor
        float32, shape (n_classes,), for ``nn.CrossEntropyLoss(weight=...)``.

    Raises
    ------
    ValueError
        If there are no participants or a class has none.
    """
    if isinstance(participant_labels, Mapping):
        participant_labels = participant_labels.values()
    labels = np.asarray(list(participant_labels), dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes) if labels.size else np.zeros(n_classes)
    if labels.size == 0 or len(counts) > n_classes or (counts == 0).any():
        raise ValueError(
            f"class weights need at least one participant of each of {n_classes} classes; "
            f"got counts {counts.tolist()}"
        )
    weights = labels.size / (n_classes * counts)
    return torch.tensor(weights, dtype=torch.float32)


class BaseTrainer(ABC):
    """Trains a model epoch by epoch and records what happened.

    Parameters
    ----------
    model : nn.Module
        Moved to ``device`` here (parameters keep their identity, so an optimizer built
        before or after works).
    criterion : callable
        Loss ``criterion(logits, labels)``; an ``nn.Module`` is moved to ``device``.
    optimizer : torch.optim.Optimizer
        Over the model's parameters.
    device : torch.device or str
        Chosen once by the caller (see :func:`core.training.device.choose_device`).
    scheduler : torch.optim.lr_scheduler.ReduceLROnPlateau, optional
        Stepped on the validation loss each epoch; by default one is built with
        ``lr_factor`` and ``lr_patience``.
    lr_factor, lr_patience : float, int
        Settings of the default scheduler.
    patience : int, default 10
        Early-stopping patience in epochs (0 disables early stopping).
    min_delta : float, default 0.0
        Smallest validation-loss decrease that counts as an improvement.
    run_dir : str or Path, optional
        Folder for ``latest_checkpoint.pth`` and ``best_model.pth``; None writes no files.
    config : mapping, optional
        The run's configuration (training, data windows, feature names, normaliser
        statistics, ...), stored in every checkpoint. ``model`` (class name and
        ``init_kwargs``) and ``training`` defaults are filled in when missing.
    callbacks : sequence of Callback, optional
        Objects reacting to training (see :class:`Callback`).
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
    train_losses, val_losses, learning_rates : list of float
        One entry per completed epoch; ``learning_rates`` holds the rate used in it.
    history : list of dict
        One record per completed epoch (see :meth:`train`).
    status : str
        One of ``created``, ``running``, ``completed``, ``early-stopped``, ``stopped``,
        ``failed``.
    stop_reason : str or None
        Why the run ended early.
    early_stopping_reset : str or None
        Why :meth:`resume` restarted the early-stopping counter (an early-stopped run
        resumed), until the next epoch's history record carries it.
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
        self.scheduler = scheduler or torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=lr_factor, patience=lr_patience
        )
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks) + ([TqdmProgress()] if progress else [])
        self.stop_check = stop_check
        self.use_amp = bool(amp) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.config = self._complete_config(config, lr_factor, lr_patience, amp)
        self.epoch, self.n_epochs = 0, 0
        self.train_losses: list[float] = []
        self.val_losses: list[float] = []
        self.learning_rates: list[float] = []
        self.history: list[dict[str, Any]] = []
        self.early_stopping = EarlyStoppingState()
        self.early_stopping_reset: str | None = None
        self.status: str = "created"
        self.stop_reason: str | None = None
        self.should_stop = False
        self._stop_status = "stopped"
        self._loaders: dict[str, Any] = {}
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
            ``best_val_loss``, ``best_epoch``, ``improved``,
            ``epochs_without_improvement``, ``elapsed_s``, then what ``validate``
            returned as extras. The first epoch after a resume that reset early
            stopping also has ``early_stopping_reset`` (why).
        """
        self._loaders = {"train": train_loader, "val": val_loader}
        self.n_epochs = int(n_epochs)
        self.status, self.stop_reason, self.should_stop = "running", None, False
        try:
            if resume_from is not None:
                self.resume(resume_from)
            self._call_hooks("on_train_begin")
            for epoch in range(self.epoch + 1, self.n_epochs + 1):
                self._begin_epoch(epoch)
                train_loss = self.train_epoch(train_loader)
                if self.should_stop:  # stopped mid-epoch: discard it, the checkpoint is exact
                    break
                val_loss, extras = self.validate(val_loader)
                record = self._end_epoch(epoch, train_loss, val_loss, extras)
                if record is not None:  # None: a non-finite loss, nothing was recorded
                    self._call_hooks("on_epoch_end", record)
                if self.should_stop:
                    break
        except KeyboardInterrupt:
            self._finish("stopped", "interrupted (KeyboardInterrupt)")
            raise
        except Exception as exc:
            self._finish("failed", f"{type(exc).__name__}: {exc}")
            raise
        self._finish(self._stop_status if self.should_stop else "completed", self.stop_reason)
        return self.history

    def request_stop(self, reason: str, status: str = "stopped") -> None:
        """Ask the run to stop at the next batch boundary (safe to call from a callback).

        Parameters
        ----------
        reason : str
            Recorded as :attr:`stop_reason`.
        status : {"stopped", "early-stopped", "failed"}, default "stopped"
            The status the run ends with; a failure overrides an earlier request.
        """
        if self.should_stop and status != "failed":
            return
        self.should_stop, self.stop_reason, self._stop_status = True, reason, status

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

    @property
    def lr(self) -> float:
        """Current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    # ----------------------------------------------------------------- reactions to an epoch
    def _begin_epoch(self, epoch: int) -> None:
        self._epoch_started = time.perf_counter()
        self._call_hooks("on_epoch_begin", epoch)

    def _end_epoch(
        self, epoch: int, train_loss: float, val_loss: float, extras: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Decide, record, schedule and checkpoint one finished epoch."""
        train_loss, val_loss = float(train_loss), float(val_loss)
        state, stop, reason = early_stopping_decision(
            self.early_stopping, epoch, val_loss, self.patience, self.min_delta, train_loss
        )
        if non_finite_reason(train_loss, val_loss) is not None:
            self.request_stop(reason or "non-finite loss", status="failed")
            return None  # nothing recorded, no checkpoint: the latest one stays good
        record = self._record(epoch, train_loss, val_loss, state, extras)
        self.scheduler.step(val_loss)
        self.early_stopping = state
        self._save_checkpoints(improved=record["improved"])
        if stop:
            self.request_stop(reason or "early stopping", status="early-stopped")
        return record

    def _record(
        self,
        epoch: int,
        train_loss: float,
        val_loss: float,
        state: EarlyStoppingState,
        extras: Mapping[str, Any],
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": self.lr,
            "best_val_loss": state.best_loss,
            "best_epoch": state.best_epoch,
            "improved": state.best_epoch == epoch,
            "epochs_without_improvement": state.counter,
            "elapsed_s": time.perf_counter() - self._epoch_started,
        }
        if self.early_stopping_reset is not None:
            record["early_stopping_reset"], self.early_stopping_reset = (
                self.early_stopping_reset,
                None,
            )
        record.update({k: v for k, v in to_plain(dict(extras)).items() if k not in record})
        self.epoch = epoch
        self.train_losses.append(train_loss)
        self.val_losses.append(val_loss)
        self.learning_rates.append(record["lr"])
        self.history.append(record)
        return record

    def _save_checkpoints(self, improved: bool) -> None:
        if self.run_dir is None:
            return
        payload = self.checkpoint_payload()
        if improved:
            save_checkpoint(self.run_dir / BEST_NAME, payload)
        save_checkpoint(self.run_dir / LATEST_NAME, payload)

    def _finish(self, status: str, reason: str | None) -> None:
        self.status, self.stop_reason = status, reason
        self._call_hooks("on_train_end")

    def _call_hooks(self, name: str, *args: Any) -> None:
        for callback in self.callbacks:
            hook = getattr(callback, name, None)
            if hook is not None:
                hook(self, *args)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything needed to resume exactly, as tensors and plain values.

        Returns
        -------
        dict
            Keys: ``format_version``, ``epoch``, ``model_state_dict``,
            ``optimizer_state_dict``, ``scheduler_state_dict``, ``scaler_state_dict``
            (None without AMP), ``train_loss``, ``val_loss``, ``train_losses``,
            ``val_losses``, ``learning_rates``, ``history``, ``early_stopping``,
            ``rng_state``, ``loader_states``, ``config``.
        """
        return {
            "format_version": FORMAT_VERSION,
            "epoch": self.epoch,
            "model_state_dict": self.model.state_dict(),
            "optimizer_state_dict": self.optimizer.state_dict(),
            "scheduler_state_dict": to_plain(self.scheduler.state_dict()),
            "scaler_state_dict": self.scaler.state_dict() if self.use_amp else None,
            "train_loss": self.train_losses[-1] if self.train_losses else None,
            "val_loss": self.val_losses[-1] if self.val_losses else None,
            "train_losses": list(self.train_losses),
            "val_losses": list(self.val_losses),
            "learning_rates": list(self.learning_rates),
            "history": to_plain(self.history),
            "early_stopping": {
                **self.early_stopping.to_dict(),
                "patience": self.patience,
                "min_delta": self.min_delta,
            },
            "rng_state": capture_rng_state(),
            "loader_states": {
                name: loader.state_dict()
                for name, loader in self._loaders.items()
                if hasattr(loader, "state_dict")
            },
            "config": self.config,
        }

    def resume(self, path: str | Path) -> dict[str, Any]:
        """Restore model, optimizer, scheduler, histories, RNG and loader states.

        Called by ``train(resume_from=...)``; loaders given to that call get their
        shuffling state back. Early stopping continues as saved, except that a counter
        which already reached the patience (the run had early-stopped) restarts at 0
        (:func:`~core.training.early_stopping.resumed_state`); the patience is this
        trainer's, so a resumed run may be given a new one.

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
            If the file cannot be read or does not fit this trainer's model.
        """
        path = Path(path)
        if path.is_dir():
            path = path / LATEST_NAME
        ckpt = load_checkpoint(path, map_location=self.device)
        saved_class = ckpt.get("config", {}).get("model", {}).get("class")
        if saved_class not in (None, type(self.model).__name__):
            raise CheckpointError(path, f"holds a {saved_class}, not a {type(self.model).__name__}")
        try:
            self.model.load_state_dict(ckpt["model_state_dict"])
            self.optimizer.load_state_dict(ckpt["optimizer_state_dict"])
            self.scheduler.load_state_dict(ckpt["scheduler_state_dict"])
            if self.use_amp and ckpt.get("scaler_state_dict"):
                self.scaler.load_state_dict(ckpt["scaler_state_dict"])
            self.epoch = int(ckpt["epoch"])
            self.train_losses = list(ckpt["train_losses"])
            self.val_losses = list(ckpt["val_losses"])
            self.learning_rates = list(ckpt["learning_rates"])
            self.history = list(ckpt["history"])
            saved = ckpt["early_stopping"]
            self.early_stopping, self.early_stopping_reset = resumed_state(
                EarlyStoppingState.from_dict(saved),
                int(saved.get("patience", self.patience)),
                self.patience,
            )
            if self.early_stopping_reset is not None:
                log.info("%s", self.early_stopping_reset)
            for name, state in ckpt.get("loader_states", {}).items():
                loader = self._loaders.get(name)
                if hasattr(loader, "load_state_dict"):
                    loader.load_state_dict(state)
            restore_rng_state(ckpt["rng_state"])  # last: nothing may draw after this
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(path, f"does not fit this trainer: {exc}") from exc
        return ckpt

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
            "patience": self.patience,
            "min_delta": self.min_delta,
            "amp": bool(amp),
            "device": str(self.device),
        }
        config["model"] = {**model_info, **dict(config.get("model", {}))}
        config["training"] = {**training, **dict(config.get("training", {}))}
        return to_plain(config)
