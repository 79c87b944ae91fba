"""Which corpus a run was trained on, as one comparable key.

A configuration records its corpus as ``data.root``: a resolved folder, or None for the
bundled sample. The dashboard knows the active corpus as the folder it opened (for the
sample, the sample's own folder). :func:`corpus_key` maps both to the same string, so
"runs on this corpus" finds the sample's runs too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def corpus_key(root: str | Path | None) -> str:
    """One string per corpus: the resolved folder (the sample's folder for None).

    Parameters
    ----------
    root : str, pathlib.Path or None
        A corpus folder, or None for the bundled sample (as configurations record it).

    Returns
    -------
    str
        The absolute, resolved folder (``~`` and symbolic links resolved).
    """
    if not root:
        from core.data.sample import sample_root

        root = sample_root()
    return str(Path(root).expanduser().resolve())


def run_corpus_key(config: dict[str, Any]) -> str:
    """The :func:`corpus_key` of the corpus a run configuration trains on."""
    return corpus_key((config.get("data") or {}).get("root"))
