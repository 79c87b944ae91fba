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


def report_targets(root: Path) -> dict[str, str]:
    """Runs with a saved model, and experiments, as path to label, newest first."""
    targets = {
        str(run.path): f"{folder.run_name(run.path)} ({run.modality}, {run.status})"
        for run in list_runs(root)
        if best_model_file(run.path) is not None
    }
    try:
        from core.experiment import list_experiments
    except ImportError:  # an installation without the experiments package
        return targets
    for experiment in list_experiments(root):
        if experiment.get("done"):
            targets[experiment["path"]] = (
                f"experiment {experiment['name']} ({experiment['done']} runs done)"
            )
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
