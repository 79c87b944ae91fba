"""The states a run can be in: the one vocabulary of run states.

A trainer ends in one of them (:attr:`core.training.base.BaseTrainer.status`), a run's
``status.json`` holds one (:mod:`core.runs.state` re-exports them for its readers), and
an experiment reports its own and its runs' in the same words
(:mod:`core.experiment.status`).
"""

from __future__ import annotations

import enum


class RunState(enum.StrEnum):
    """A run's state; its value is what ``status.json`` holds.

    *starting* and *running* are active (a process is, or is about to be, at work); the
    others are finished: *completed* (every epoch asked for), *early-stopped* (no
    improvement for ``patience`` epochs), *stopped* (on request, or killed by the run
    manager) and *failed* (with the reason).
    """

    STARTING = "starting"
    RUNNING = "running"
    COMPLETED = "completed"
    EARLY_STOPPED = "early-stopped"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Whether a process is, or is about to be, working on the run."""
        return self in (RunState.STARTING, RunState.RUNNING)

    @property
    def finished(self) -> bool:
        """Whether the run has ended, one way or another."""
        return not self.active

    @property
    def succeeded(self) -> bool:
        """Whether the run ended by training as asked (*completed* or *early-stopped*)."""
        return self in (RunState.COMPLETED, RunState.EARLY_STOPPED)


ACTIVE = frozenset(state for state in RunState if state.active)
"""The active states; a plain string from ``status.json`` can be tested with ``in``."""
FINISHED = frozenset(state for state in RunState if state.finished)
"""The finished states; a plain string from ``status.json`` can be tested with ``in``."""
SUCCEEDED = frozenset(state for state in RunState if state.succeeded)
"""The states of a run that trained as asked, its best model worth using."""
PENDING = "pending"
"""What an experiment shows for a planned run that has no folder yet (never written in
``status.json``)."""
