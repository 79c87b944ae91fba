"""Early stopping as a small pure decision: "should we stop, and why?"."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class EarlyStoppingState:
    """What early stopping remembers between epochs.

    Attributes
    ----------
    best : float
        Best monitored value so far (``inf`` before the first epoch when minimising,
        ``-inf`` when maximising).
    best_epoch : int
        Epoch (1-based) that reached ``best``; 0 before the first epoch.
    counter : int
        Epochs since the last improvement.
    """

    best: float = math.inf
    best_epoch: int = 0
    counter: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the state as plain values (for checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> EarlyStoppingState:
        """Rebuild a state saved with :meth:`to_dict` (``best_loss`` in older checkpoints)."""
        return cls(
            best=float(state["best"] if "best" in state else state["best_loss"]),
            best_epoch=int(state["best_epoch"]),
            counter=int(state["counter"]),
        )


def non_finite_reason(train_loss: float | None, val_loss: float) -> str | None:
    """Return why the losses are unusable, or None when both are finite.

    Parameters
    ----------
    train_loss : float or None
        Mean training loss of the epoch (None to check only the validation loss).
    val_loss : float
        Validation loss of the epoch.

    Returns
    -------
    str or None
        ``"non-finite loss (train_loss=nan, val_loss=0.693)"`` style text, or None.
    """
    losses = {"train_loss": train_loss, "val_loss": val_loss}
    if all(v is None or math.isfinite(v) for v in losses.values()):
        return None
    shown = ", ".join(f"{k}={v:.4g}" for k, v in losses.items() if v is not None)
    return f"non-finite loss ({shown})"


def early_stopping_decision(
    state: EarlyStoppingState,
    epoch: int,
    value: float,
    patience: int,
    min_delta: float = 0.0,
    train_loss: float | None = None,
    *,
    mode: str = "min",
    what: str = "validation loss",
) -> tuple[EarlyStoppingState, bool, str | None]:
    """Update the early-stopping state with one epoch's monitored value and decide.

    An epoch improves when ``value < best - min_delta`` (``mode="min"``) or
    ``value > best + min_delta`` (``mode="max"``); the run stops once ``patience``
    epochs in a row have not improved. When minimising a loss, a NaN or infinite loss
    stops at once, leaving the state unchanged; when maximising a score, a NaN (an
    undefined metric, e.g. AUROC on one class) counts as no improvement.

    Parameters
    ----------
    state : EarlyStoppingState
        The state after the previous epoch.
    epoch : int
        The epoch just finished (1-based).
    value : float
        Its monitored value (the validation loss by default).
    patience : int
        Epochs without improvement tolerated; 0 or less disables early stopping.
    min_delta : float, default 0.0
        Smallest change that counts as an improvement.
    train_loss : float or None, default None
        Its training loss, checked for finiteness only.
    mode : {"min", "max"}, default "min"
        Whether lower or higher values are better.
    what : str, default "validation loss"
        The value in words, for the reason.

    Returns
    -------
    new_state : EarlyStoppingState
        ``new_state.best_epoch == epoch`` means this epoch improved.
    should_stop : bool
        Whether training should stop after this epoch.
    reason : str or None
        Why, when ``should_stop``.
    """
    bad = non_finite_reason(train_loss, value) if mode == "min" else None
    if bad is not None:
        return state, True, f"{bad} at epoch {epoch}"
    improves = value < state.best - min_delta if mode == "min" else value > state.best + min_delta
    if improves:
        improved = EarlyStoppingState(best=float(value), best_epoch=epoch, counter=0)
        return improved, False, None
    new_state = replace(state, counter=state.counter + 1)
    if patience > 0 and new_state.counter >= patience:
        reason = (
            f"no improvement in {what} for {new_state.counter} epochs "
            f"(best {state.best:.4g} at epoch {state.best_epoch})"
        )
        return new_state, True, reason
    return new_state, False, None


def resumed_state(
    state: EarlyStoppingState, saved_patience: int, patience: int
) -> tuple[EarlyStoppingState, str | None]:
    """The early-stopping state a resumed run continues with, and why it changed.

    A counter that has already reached a patience restarts at 0: the saved one (the run
    had early-stopped) or the new one (it would stop after one more epoch). The best loss
    and epoch are kept, so ``best_model.pth`` stays the best. Any other run resumes with
    its state as saved, so an interrupted run continues exactly.

    Parameters
    ----------
    state : EarlyStoppingState
        The state saved in the checkpoint.
    saved_patience : int
        The patience the run had (0 or less: early stopping was off).
    patience : int
        The patience it resumes with.

    Returns
    -------
    new_state : EarlyStoppingState
        ``state`` itself, or a copy with ``counter=0``.
    reason : str or None
        Why the counter was reset (for the run's log and history), or None.
    """
    reached = [p for p in (saved_patience, patience) if 0 < p <= state.counter]
    if not reached:
        return state, None
    if 0 < saved_patience <= state.counter:
        cause = f"the run had early-stopped after {state.counter} epochs without improvement"
    else:
        cause = f"its {state.counter} epochs without improvement already reach the new patience"
    reason = (
        f"early stopping reset on resume: {cause}; the counter restarts at 0 with patience "
        f"{patience} (best {state.best:.4g} at epoch {state.best_epoch} kept)"
    )
    return replace(state, counter=0), reason
