"""Which finished runs feed a fusion run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.config import make_config
from core.pipeline.fusion import SOURCE_MODALITIES, best_finished_run
from core.runs import folder

log = logging.getLogger(__name__)


def resolve_sources(config: dict[str, Any], runs_root: Path) -> dict[str, str]:
    """The audio, face and text runs for a fusion configuration.

    A run named in ``config["sources"]`` is used as is (after checking it is a run of that
    modality); otherwise the best finished run of that modality on the same data; otherwise
    a new run with default settings is trained first, in ``runs_root``.

    Raises
    ------
    ValueError
        A named folder is not a run of its modality, or a run trained here failed.
    """
    from core.train import run

    data_root = config["data"]["root"]
    given = config.get("sources") or {}
    sources = {}
    for modality in SOURCE_MODALITIES:
        if given.get(modality):
            source = Path(given[modality])
            source_config = folder.read_json(source / folder.CONFIG)
            if not source_config or source_config.get("modality") != modality:
                raise ValueError(f"--{modality}-run {source} is not a {modality} run folder")
            sources[modality] = str(source.resolve())
            continue
        found = best_finished_run(runs_root, modality, data_root)
        if found is None:
            log.warning("no finished %s run on this data: training one with defaults", modality)
            source_config = make_config(modality, data_root, {}, config["seed"])
            found = folder.new_run_dir(runs_root, modality)
            folder.write_json_atomic(found / folder.CONFIG, source_config)
            folder.write_status(found, "starting", None, modality=modality)
            state = run(source_config, found, resume=False, progress=False)
            if state == "failed":
                raise ValueError(f"the {modality} run trained for fusion failed: see {found}")
        sources[modality] = str(found.resolve())
    return sources
