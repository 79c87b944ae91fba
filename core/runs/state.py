"""The states a run can be in, as written in its ``status.json``.

They are defined once, in :mod:`core.training.state` (the trainer, the lowest layer that
needs them, ends a run in one of them); the run folder's readers import them from here.
"""

from __future__ import annotations

from core.training.state import ACTIVE, FINISHED, PENDING, SUCCEEDED, RunState

__all__ = ["ACTIVE", "FINISHED", "PENDING", "SUCCEEDED", "RunState"]
