"""The run-kind registry: text, audio, face and fusion runs, each one object.

Every difference between kinds of run lives in its kind (:class:`RunKind`): how it
trains and resumes, which file holds its best or latest model and how that is loaded,
how it scores a split or one participant, how it embeds participants for the fusion,
and whether it has epochs. The command line (:mod:`core.train`), evaluation
(:mod:`core.evaluate`), the runs table, scoring (:mod:`core.scoring`) and the pages ask
the kind, so adding a modality means adding its kind here (and its widgets), nothing
else.

Use::

    kind = get_kind(config["modality"])      # or kind_of(run_dir)
    run = kind.load(run_dir)                 # LoadedRun: model, config, normaliser
    scores = kind.score_split(run, "dev")    # SplitScores: ids, probs, labels
    score = kind.score_participant(run, corpus, pid)   # .probability

Importing this package is cheap: each kind imports torch or scikit-learn only when a
method needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hparams import MODALITIES
from core.kinds.audio import AudioKind
from core.kinds.base import CHECKPOINTS, Embedding, LoadedRun, RunKind, Score, SplitScores
from core.kinds.face import FaceKind
from core.kinds.fusion import SOURCE_MODALITIES, FusionKind
from core.kinds.text import TextKind
from core.runs import folder

KINDS: dict[str, RunKind] = {
    kind.name: kind for kind in (TextKind(), AudioKind(), FaceKind(), FusionKind())
}
"""Every run kind by modality name, in the order pages list them."""

__all__ = [
    "CHECKPOINTS",
    "KINDS",
    "MODALITIES",
    "SOURCE_MODALITIES",
    "Embedding",
    "LoadedRun",
    "RunKind",
    "Score",
    "SplitScores",
    "best_model_file",
    "get_kind",
    "kind_of",
]


def get_kind(name: str | dict[str, Any]) -> RunKind:
    """The kind of a modality name, or of a run configuration.

    Raises
    ------
    ValueError
        An unknown modality (the message lists the known ones).
    """
    if isinstance(name, dict):
        name = name.get("modality", "")
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown modality {name!r}; expected one of {tuple(KINDS)}") from None


def kind_of(run_dir: str | Path) -> RunKind:
    """The kind of the run in ``run_dir`` (from its ``config.json``).

    Raises
    ------
    FileNotFoundError
        The folder holds no configuration.
    ValueError
        The configuration names an unknown modality.
    """
    return get_kind(folder.read_config(run_dir))


def best_model_file(run_dir: str | Path) -> Path | None:
    """The file holding a run's best model; None when there is none (or no known kind)."""
    try:
        return kind_of(run_dir).model_file(Path(run_dir))
    except (OSError, ValueError):  # no configuration, or one naming no known kind
        return None
