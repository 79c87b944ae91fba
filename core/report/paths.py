"""Paths in a card that is shared: relative to the runs root and the corpus, never local.

A model card written to an HTML file leaves this machine (it is mailed, attached to a
paper's material). Absolute paths in it say where a user keeps their files, and mean
nothing on another machine; :func:`hide_local_paths` shows them relative to the runs
root (``audio-20240101-120000-ab12``, ``experiments/sweep``) and the corpus root
(``daic/300_P``), as :func:`local_places` finds them for the reported run or experiment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from core.experiment.folder import EXPERIMENTS, SETUP
from core.runs import folder

SAMPLE = "the bundled sample"
"""How a card shows the bundled synthetic sample's folder."""


def runs_root_of(path: Path) -> Path:
    """The runs root a run or experiment folder lives under.

    ``ROOT/experiments/NAME[/runs/c000-s0]`` gives ``ROOT``; any other folder its parent.
    """
    path = Path(path).absolute()
    for parent in path.parents:
        if parent.name == EXPERIMENTS:
            return parent.parent
    return path.parent


def _corpus_roots(target: Path) -> list[str | None]:
    """The corpus roots the reported run (and its sources) or experiment used."""
    if (target / folder.CONFIG).is_file():
        configs = [folder.read_json(target / folder.CONFIG) or {}]
        for source in (configs[0].get("sources") or {}).values():
            if source and (Path(source) / folder.CONFIG).is_file():
                configs.append(folder.read_json(Path(source) / folder.CONFIG) or {})
        return [(config.get("data") or {}).get("root") for config in configs]
    setup = folder.read_json(target / SETUP) if (target / SETUP).is_file() else None
    return [(setup or {}).get("data_root")]


def local_places(target: str | Path) -> dict[str, str]:
    """The local folders a card of ``target`` may name, each with how it is shown.

    Parameters
    ----------
    target : str or pathlib.Path
        The reported run or experiment folder.

    Returns
    -------
    dict
        Absolute path to its shown form: the runs root (and a fusion's sources' folders)
        to nothing (paths under it are shown relative to it), each corpus root to its
        folder's name, the bundled sample's folder to :data:`SAMPLE`.
    """
    from core.data.sample import sample_root

    target = Path(target)
    places: dict[str, str] = {}

    def add(path: str | Path, shown: str) -> None:
        for form in {str(Path(path).absolute()), str(Path(path).resolve())}:
            if form != Path(form).anchor:  # never the file system's root
                places.setdefault(form, shown)

    for root in _corpus_roots(target):
        if root:
            add(root, Path(root).name)
    add(sample_root(), SAMPLE)
    add(runs_root_of(target), "")
    config = folder.read_json(target / folder.CONFIG) if (target / folder.CONFIG).is_file() else {}
    for source in ((config or {}).get("sources") or {}).values():
        if source:
            add(runs_root_of(Path(source)), "")
    return places


def hide_local_paths(text: str, places: Mapping[str, str]) -> str:
    """Show every path under ``places`` relative to it, in its shown form.

    Parameters
    ----------
    text : str
        The card's HTML (or any text).
    places : mapping
        From :func:`local_places`.

    Returns
    -------
    str
        ``text`` with ``PLACE/rest`` as ``SHOWN/rest`` (``rest`` alone for an empty
        shown form) and a bare ``PLACE`` as ``SHOWN`` (``.`` for an empty one); a longer
        folder name that merely starts like a place is left alone.
    """
    for place in sorted(places, key=len, reverse=True):
        shown = places[place]
        text = text.replace(place + "/", f"{shown}/" if shown else "")
        bare = (shown or ".").replace("\\", "\\\\")  # a replacement template, escaped
        text = re.sub(re.escape(place) + r"(?![\w.\-])", bare, text)
    return text
