"""One epoch's record: the one builder every kind of run uses for ``metrics.jsonl``.

The trainer builds each epoch's record here, and so does a text run (fitted once, so
one record), so every run's history has the same fields and every reader (curves, the
runs table, the best epoch) reads them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.training.checkpoint import to_plain


def epoch_record(
    epoch: int,
    train_loss: float,
    val_loss: float,
    lr: float | None,
    elapsed_s: float,
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one finished epoch.

    Parameters
    ----------
    epoch : int
        1-based epoch number.
    train_loss, val_loss : float
        The epoch's training and validation loss.
    lr : float or None
        The learning rate it trained with (None where there is none: a text run).
    elapsed_s : float
        Seconds the epoch took.
    extras : mapping, optional
        More fields (participant-level validation metrics as ``val_<name>``); they never
        replace the fields above.

    Returns
    -------
    dict
        Plain JSON-ready values: ``epoch``, ``train_loss``, ``val_loss``, ``lr``,
        ``elapsed_s`` and the extras. Callbacks (early stopping) add their own fields.
    """
    record: dict[str, Any] = {
        "epoch": int(epoch),
        "train_loss": float(train_loss),
        "val_loss": float(val_loss),
        "lr": lr,
        "elapsed_s": float(elapsed_s),
    }
    record.update({k: v for k, v in to_plain(dict(extras or {})).items() if k not in record})
    return record
