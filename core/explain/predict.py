"""Explain one participant's score with an audio or face run: the dearer step after scoring.

Scoring (:mod:`core.scoring`) is forward passes only; the attention, spatial gate and
Integrated Gradients explanation here is much dearer, and a caller runs it only when it
is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.data import Corpus
from core.data.cache import FrameCache
from core.data.features import Normaliser
from core.kinds import CHECKPOINTS
from core.kinds.neural_run import load_neural_run
from core.kinds.session import SessionWindows, session_windows
from core.models import NeuralClassifier

__all__ = ["CHECKPOINTS", "NOTICE", "explain_neural_run", "explain_windows"]

if TYPE_CHECKING:  # the explanation modules import Captum, which takes seconds to load
    from core.explain.neural import SessionExplanation

NOTICE = (
    "Research software, not a diagnostic device. These scores come from models trained "
    "on a research corpus; they must not be used to diagnose, screen or treat anyone."
)


def explain_windows(model: NeuralClassifier, windows: SessionWindows) -> SessionExplanation:
    """Attention, spatial gate and Integrated Gradients of windows already cut.

    The dear part of an explanation (Captum is imported only here); see
    :func:`core.explain.neural.explain_session`.
    """
    from core.explain.neural import explain_session

    return explain_session(model, windows)


def explain_neural_run(
    run_dir: Path,
    corpus: Corpus,
    pid: int,
    which: str = "best",
    cache: FrameCache | None = None,
    device: str = "cpu",
) -> tuple[SessionExplanation, Normaliser]:
    """Load an audio or face run's checkpoint and explain one participant with it.

    Returns
    -------
    explanation : SessionExplanation
    normaliser : Normaliser
        The run's normaliser (its ``mean_`` is the training-mean frame, the baseline).

    Raises
    ------
    CheckpointError
        The checkpoint is missing or damaged.
    DataError
        The session lacks a file the run needs.
    ValueError
        The session's features differ from the run's.
    """
    model, config, normaliser = load_neural_run(Path(run_dir), which, device)
    windows = session_windows(corpus, pid, config, normaliser, cache)
    return explain_windows(model, windows), normaliser
