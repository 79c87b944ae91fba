"""The research report: subgroups, calibration, the shortcut audit and the model card.

Use::

    card = build_card(path)            # a run folder or an experiment folder
    write_html(card, "report.html")    # one self-contained file, opens offline

or ``python -m core.report RUN_OR_EXPERIMENT [--out FILE.html]``. The card
(:class:`~core.report.card.Card`) is a list of sections of plain blocks (text, warnings,
tables, Plotly figures): the HTML writer (:mod:`core.report.html`) and the Report
screen show the same blocks.

Modules: :mod:`~core.report.subgroups` (fairlearn's MetricFrame with bootstrap
intervals), :mod:`~core.report.calibration` (reliability, Brier, ECE, recalibration
fitted only on a fitting set), :mod:`~core.report.audit` (speaker variants, the
length-only baseline, attribution inside participant turns), :mod:`~core.report.build`
(a run's card), :mod:`~core.report.pooled` (an experiment configuration's card).
"""

from __future__ import annotations

from pathlib import Path

from core.report.build import Options, build_run_card
from core.report.card import Block, Card, Section
from core.report.html import render_html, write_html

__all__ = ["Block", "Card", "Options", "Section", "build_card", "render_html", "write_html"]


def build_card(
    path: str | Path, options: Options | None = None, configuration: str | None = None
) -> Card:
    """The model card of a run folder, or of an experiment folder's configuration.

    Parameters
    ----------
    path : str or pathlib.Path
        A run folder (``config.json``) or an experiment folder.
    options : Options, optional
        How to build it.
    configuration : str, optional
        For an experiment: the configuration's ID (default: the best complete one).

    Raises
    ------
    FileNotFoundError
        ``path`` holds neither a run nor an experiment.
    ValueError
        Nothing to report yet (no saved model, no finished configuration).
    """
    path = Path(path)
    if (path / "config.json").is_file():
        return build_run_card(path, options)
    from core.report.pooled import build_experiment_card, is_experiment

    if is_experiment(path):
        return build_experiment_card(path, options, configuration)
    raise FileNotFoundError(f"{path} holds neither a run (config.json) nor an experiment")
