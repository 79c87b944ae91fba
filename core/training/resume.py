"""What a checkpoint holds of a trainer, and how a trainer continues from one.

The payload is tensors and plain values only (``torch.load(..., weights_only=True)``
reads it). The history is saved once; ``train_losses``, ``val_losses`` and
``learning_rates`` are written beside it as views for readers of the file. Each
callback with a ``state_key`` saves its own state under that key; a checkpoint written
before a callback kept state of its own is still read (see :func:`restore_trainer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.training.checkpoint import (
    FORMAT_VERSION,
    LATEST_NAME,
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    to_plain,
)

if TYPE_CHECKING:
    from core.training.base import BaseTrainer


def trainer_payload(trainer: BaseTrainer) -> dict[str, Any]:
    """Everything needed to resume ``trainer`` exactly, as tensors and plain values.

    Parameters
    ----------
    trainer : BaseTrainer
        The trainer after its last completed epoch.

    Returns
    -------
    dict
        Keys: ``format_version``, ``epoch``, ``model_state_dict``,
        ``optimizer_state_dict``, ``scaler_state_dict`` (None without AMP),
        ``train_loss``, ``val_loss``, ``train_losses``, ``val_losses``,
        ``learning_rates``, ``history``, ``rng_state``, ``loader_states``, ``config``,
        and each stateful callback's state under its ``state_key``: ``early_stopping``,
        ``scheduler_state_dict``, ``checkpointing``.
    """
    last = trainer.history[-1] if trainer.history else {}
    payload = {
        "format_version": FORMAT_VERSION,
        "epoch": trainer.epoch,
        "model_state_dict": trainer.model.state_dict(),
        "optimizer_state_dict": trainer.optimizer.state_dict(),
        "scaler_state_dict": trainer.scaler.state_dict() if trainer.use_amp else None,
        "train_loss": last.get("train_loss"),
        "val_loss": last.get("val_loss"),
        "train_losses": trainer.train_losses,
        "val_losses": trainer.val_losses,
        "learning_rates": trainer.learning_rates,
        "history": to_plain(trainer.history),
        "rng_state": capture_rng_state(),
        "loader_states": {
            name: loader.state_dict()
            for name, loader in trainer.loaders.items()
            if hasattr(loader, "state_dict")
        },
        "config": trainer.config,
    }
    for callback in stateful_callbacks(trainer):
        payload[callback.state_key] = to_plain(callback.state_dict())
    return payload


def restore_trainer(trainer: BaseTrainer, path: str | Path) -> dict[str, Any]:
    """Restore model, optimizer, history, callbacks' states, RNG and loader states.

    A callback whose key the checkpoint lacks (it was written before that callback kept
    state) rebuilds its state from the history when it can (``restore_from_history``).

    Parameters
    ----------
    trainer : BaseTrainer
        The trainer to continue; its loaders (``trainer.loaders``) get their shuffling
        state back.
    path : str or Path
        A checkpoint file, or a run folder holding ``latest_checkpoint.pth``.

    Returns
    -------
    dict
        The loaded checkpoint.

    Raises
    ------
    CheckpointError
        If the file cannot be read or does not fit the trainer's model or monitor.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LATEST_NAME
    ckpt = load_checkpoint(path, map_location=trainer.device)
    _check_fits(trainer, path, ckpt)
    try:
        trainer.model.load_state_dict(ckpt["model_state_dict"])
        trainer.optimizer.load_state_dict(ckpt["optimizer_state_dict"])
        if trainer.use_amp and ckpt.get("scaler_state_dict"):
            trainer.scaler.load_state_dict(ckpt["scaler_state_dict"])
        trainer.epoch = int(ckpt["epoch"])
        trainer.history = list(ckpt["history"])
        for callback in stateful_callbacks(trainer):
            if callback.state_key in ckpt:
                callback.load_state_dict(ckpt[callback.state_key])
            elif hasattr(callback, "restore_from_history"):  # an older checkpoint
                callback.restore_from_history(trainer.history)
        for name, state in ckpt.get("loader_states", {}).items():
            loader = trainer.loaders.get(name)
            if loader is not None and hasattr(loader, "load_state_dict"):
                loader.load_state_dict(state)
        restore_rng_state(ckpt["rng_state"])  # last: nothing may draw after this
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(path, f"does not fit this trainer: {exc}") from exc
    return ckpt


def stateful_callbacks(trainer: BaseTrainer) -> list[Any]:
    """The trainer's callbacks that checkpoint their own state (have a ``state_key``)."""
    return [c for c in trainer.ordered_callbacks() if hasattr(c, "state_key")]


def _check_fits(trainer: BaseTrainer, path: Path, ckpt: Mapping[str, Any]) -> None:
    """Refuse a checkpoint of another model class or watching another value."""
    model_name = type(trainer.model).__name__
    saved_class = ckpt.get("config", {}).get("model", {}).get("class")
    if saved_class not in (None, model_name):
        raise CheckpointError(path, f"holds a {saved_class}, not a {model_name}")
    saved_monitor = ckpt.get("early_stopping", {}).get("monitor", "val_loss")
    if saved_monitor != trainer.monitor.name:
        raise CheckpointError(
            path,
            f"was trained watching {saved_monitor!r}, not {trainer.monitor.name!r}; "
            "resume it with the monitor it was started with",
        )
