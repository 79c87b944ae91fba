"""The run-kind registry: text, audio, face and fusion runs, each one object.

Every difference between kinds of run lives in its kind (:class:`RunKind`): how it
trains and resumes, which file holds its best or latest model and how that is loaded,
how it scores a split or one participant, how it embeds participants for the fusion,
and whether it has epochs. The command line (:mod:`core.train`), evaluation
(:mod:`core.evaluate`), the runs table, scoring (:mod:`core.scoring`) and the pages ask
the kind, so adding a modality means writing its kind (and its model and widgets),
nothing else: a kind outside this package joins with :func:`register`, and the modules
named in the environment variable ``DAIC_KINDS`` (comma-separated, importable) are
imported when this package is, so each can register its kind in every process (the
command line, the dashboard, an experiment's Dask workers). See docs/architecture.md,
"Adding a modality".

Use::

    kind = get_kind(config["modality"])      # or kind_of(run_dir)
    run = kind.load(run_dir)                 # LoadedRun: model, config, normaliser
    scores = kind.score_split(run, "dev")    # SplitScores: ids, probs, labels
    score = kind.score_participant(run, corpus, pid)   # .probability

Importing this package is cheap: each kind imports torch or scikit-learn only when a
method needs it.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from core import hparams
from core.kinds.audio import AudioKind
from core.kinds.base import CHECKPOINTS, Embedding, LoadedRun, RunKind, Score, SplitScores
from core.kinds.face import FaceKind
from core.kinds.fusion import FusionKind, source_modalities
from core.kinds.text import TextKind
from core.runs import folder

KINDS: dict[str, RunKind] = {
    kind.name: kind for kind in (TextKind(), AudioKind(), FaceKind(), FusionKind())
}
"""Every run kind by modality name, in the order pages list them; the one list of
modalities (:func:`register` adds to it)."""

PLUGINS_VARIABLE = "DAIC_KINDS"
"""Environment variable naming modules (comma-separated) that register kinds on import."""

__all__ = [
    "CHECKPOINTS",
    "KINDS",
    "PLUGINS_VARIABLE",
    "Embedding",
    "LoadedRun",
    "RunKind",
    "Score",
    "SplitScores",
    "best_model_file",
    "get_kind",
    "kind_of",
    "register",
    "unregister",
    "source_modalities",
]


def register(kind: RunKind) -> RunKind:
    """Add a run kind: pages, the command line, experiments and fusions then offer it.

    Its hyper-parameters are those of ``kind.hparams_like`` with ``kind.hparam_defaults``
    (:func:`core.hparams.register_modality`). Registering a kind of the same name again
    replaces it.

    Raises
    ------
    ValueError
        The kind has no name or no ``hparams_like`` in the hyper-parameter table.
    """
    if not kind.name:
        raise ValueError(f"{kind!r} has no name")
    if kind.name not in hparams.modalities():
        if not kind.hparams_like:
            raise ValueError(f"{kind.name}: say which modality's settings it takes (hparams_like)")
    if kind.hparams_like:
        hparams.register_modality(kind.name, kind.hparams_like, kind.hparam_defaults)
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Take a kind added by :func:`register` out again (its hyper-parameters too)."""
    kind = KINDS.pop(name, None)
    if kind is not None and kind.hparams_like:
        hparams.unregister_modality(name)


def _load_plugins() -> None:
    """Import the modules named in ``DAIC_KINDS``; each registers its kinds."""
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_VARIABLE, "").split(","))):
        importlib.import_module(name)


def get_kind(name: str | dict[str, Any]) -> RunKind:
    """The kind of a modality name, or of a run configuration.

    Raises
    ------
    ValueError
        An unknown modality (the message lists the known ones).
    """
    key = str(name.get("modality", "")) if isinstance(name, dict) else name
    try:
        return KINDS[key]
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


_load_plugins()
