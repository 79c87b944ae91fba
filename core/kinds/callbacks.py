"""The trainer hook that keeps a run folder's status and metrics up to date."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from core.runs import folder
from core.runs.state import FINISHED


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return json_safe(value.item())
    return value


class RunFolderWriter:
    """Writes ``status.json`` and ``metrics.jsonl`` as the trainer reports each epoch.

    Parameters
    ----------
    run_dir : pathlib.Path
        The run folder.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def on_train_begin(self, trainer: Any) -> None:
        """Mark the run running; a resumed run's metrics restart from its checkpoint."""
        folder.rewrite_metrics(self.run_dir, [json_safe(r) for r in trainer.history])
        folder.write_status(
            self.run_dir, "running", epoch=trainer.epoch, max_epochs=trainer.n_epochs
        )

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        """Append the epoch's record and beat the heart."""
        folder.append_metrics(self.run_dir, json_safe(record))
        folder.write_status(
            self.run_dir,
            "running",
            epoch=trainer.epoch,
            max_epochs=trainer.n_epochs,
            best_val_loss=json_safe(min(trainer.val_losses)),
        )

    def on_train_end(self, trainer: Any) -> None:
        """Record how the run ended."""
        state = trainer.status if trainer.status in FINISHED else "failed"
        reason = trainer.stop_reason
        if state == "completed" and reason is None:
            reason = f"reached {trainer.epoch} epochs"
        folder.write_status(self.run_dir, state, reason, epoch=trainer.epoch)
