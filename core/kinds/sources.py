"""Which finished runs feed a fusion run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import make_config
from core.kinds.choice import best_finished_run, on_official_split
from core.kinds.fusion import source_modalities
from core.runs import folder

log = logging.getLogger(__name__)

TrainRun = Callable[..., str]
"""Trains a configuration in a run folder and returns its final state, as
:func:`core.train.run` (``train_run(config, run_dir, resume=False, progress=False)``)."""


def resolve_sources(config: dict[str, Any], runs_root: Path, train_run: TrainRun) -> dict[str, str]:
    """The source runs for a fusion configuration, in mask order.

    The sources are the keys of ``config["sources"]`` (every kind that can be a fusion
    input, :func:`core.kinds.fusion.source_modalities`, when it names none).

    A run named in ``config["sources"]`` is used as is (after checking it is a run of that
    modality); otherwise the best finished run of that modality on the same data
    (:func:`core.kinds.choice.best_finished_run`); otherwise a new run with default
    settings is trained first, in ``runs_root``, with ``train_run`` (the command line
    passes its own, which also evaluates the run, so this package never imports it).

    Raises
    ------
    ValueError
        A named folder is not a run of its modality or trained on a cross-validation
        fold, or a run trained here failed.
    """
    data_root = config["data"]["root"]
    given = config.get("sources") or {}
    sources = {}
    for modality in [m for m in source_modalities() if not given or m in given]:
        if given.get(modality):
            source = Path(given[modality])
            source_config = folder.read_json(source / folder.CONFIG)
            if not source_config or source_config.get("modality") != modality:
                raise ValueError(f"--{modality}-run {source} is not a {modality} run folder")
            if not on_official_split(source_config):
                raise ValueError(
                    f"--{modality}-run {source} trained on a cross-validation fold, which "
                    "holds dev participants; a fusion's sources train on the official split"
                )
            sources[modality] = str(source.resolve())
            continue
        found = best_finished_run(runs_root, modality, data_root)
        if found is None:
            log.warning("no finished %s run on this data: training one with defaults", modality)
            source_config = make_config(modality, data_root, {}, config["seed"])
            found = folder.new_run_dir(runs_root, modality)
            folder.write_json_atomic(found / folder.CONFIG, source_config)
            folder.write_status(found, "starting", None, modality=modality)
            state = train_run(source_config, found, resume=False, progress=False)
            if state == "failed":
                raise ValueError(f"the {modality} run trained for fusion failed: see {found}")
        sources[modality] = str(found.resolve())
    return sources
