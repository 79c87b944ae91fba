"""What the Report screen reads and builds, cached: the targets and each model card.

Cached functions take plain values only (paths, options, stamps) and never read widgets.
A card is rebuilt when the run's saved evaluation or the report's own files change.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.kinds import best_model_file
from core.report import Card, Options, build_card, render_html
from core.report.audit import report_folder
from core.runs import folder
from core.runs.status import list_runs
from ui.run_choice import best_first, is_search_run


def report_targets(root: Path, data_root: str | None = None) -> dict[str, str]:
    """Runs with a saved model, and experiments, as path to label.

    The best ordinary (or promoted) run comes first (:func:`ui.run_choice.best_first`:
    on the corpus in use, lowest validation loss, newest), then the other such runs,
    then the experiments, then the experiments' search runs.
    """
    saved = [run for run in list_runs(root) if best_model_file(run.path) is not None]
    runs = best_first(saved, data_root)
    label = {str(r.path): f"{folder.run_name(r.path)} ({r.modality}, {r.status})" for r in runs}
    ordinary = {str(r.path) for r in runs if not is_search_run(r.config)}
    targets = {path: text for path, text in label.items() if path in ordinary}
    try:
        from core.experiment import list_experiments
    except ImportError:  # an installation without the experiments package
        experiments = []
    else:
        experiments = list_experiments(root)
    for experiment in experiments:
        if experiment.get("done"):
            targets[experiment["path"]] = (
                f"experiment {experiment['name']} ({experiment['done']} runs done)"
            )
    targets.update({path: text for path, text in label.items() if path not in ordinary})
    return targets


def report_stamp(path: str) -> tuple[float, ...]:
    """When anything a card reads last changed: the run's evaluation and the report's files."""
    target = Path(path)
    files = [target / folder.EVALUATION, target / "configurations.json"]
    own = report_folder(target)
    if own.is_dir():
        files += sorted(own.rglob(folder.EVALUATION)) + sorted(own.glob("*.json"))
    return tuple(f.stat().st_mtime for f in files if f.is_file())


@st.cache_data(show_spinner=False, max_entries=8)
def report_card(path: str, options: Options, stamp: tuple[float, ...]) -> tuple[Card, str]:
    """The model card of a run or experiment and its HTML file's text."""
    card = build_card(Path(path), options)
    return card, render_html(card)
