"""Which run a page offers first: an ordinary run (or a promoted one), never a search run.

An experiment's search runs (``experiment/c000-s0``) are scored on their fold or seed and
are one of many; offering one of them first on Explain, Predict and Report made the
page open on, and work for, a run nobody chose. The pages keep them in their lists,
after the ordinary runs and the runs of a promotion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from core.kinds.choice import rank_key
from core.kinds.corpus import corpus_key
from core.runs.status import RunInfo


def is_search_run(config: dict[str, Any]) -> bool:
    """Whether a run configuration belongs to an experiment's search (not its promotion)."""
    experiment = config.get("experiment") or {}
    return bool(experiment) and experiment.get("role", "search") == "search"


def ordinary_first(runs: Iterable[RunInfo]) -> list[RunInfo]:
    """``runs`` in their order, with the experiments' search runs moved after the others."""
    runs = list(runs)
    return [r for r in runs if not is_search_run(r.config)] + [
        r for r in runs if is_search_run(r.config)
    ]


def best_first(runs: Sequence[RunInfo], data_root: str | Path | None) -> list[RunInfo]:
    """Ordinary and promoted runs first, each group best first (:func:`rank_key`).

    Parameters
    ----------
    runs : sequence of RunInfo
        The runs offered.
    data_root : str, pathlib.Path or None
        The corpus in use (None: the bundled sample); its runs rank first.
    """
    corpus = corpus_key(data_root)
    return ordinary_first(sorted(runs, key=lambda info: rank_key(info, corpus)))
