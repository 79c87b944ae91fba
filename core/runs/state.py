"""The states a run can be in, as written in its ``status.json``.

They are defined once, in :mod:`core.states` (the lowest layer: the trainer ends a run
in one of them, and reading them imports neither torch nor scikit-learn); the run
folder's readers import them from here.
"""

from __future__ import annotations

from core.states import ACTIVE, FINISHED, PENDING, SUCCEEDED, RunState

__all__ = ["ACTIVE", "FINISHED", "PENDING", "SUCCEEDED", "RunState"]
