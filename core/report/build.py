"""Build the model card of a run (text, audio, face or fusion with its sources)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.report import analysis, sections
from core.report.audit import ATTRIBUTION_PARTICIPANTS, attribution_audit, text_audit
from core.report.calibration import calibration_section
from core.report.card import Card
from core.report.inputs import RunInputs, fitting_predictions, load_run
from core.report.subgroups import group_columns, subgroup_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """How a report is built.

    Attributes
    ----------
    n_boot : int
        Bootstrap resamples of the audit's intervals.
    subgroup_boot : int
        Bootstrap resamples of the subgroup intervals (fairlearn; dearer per resample).
    calibration : {"platt", "isotonic"} or None
        The recalibration shown before and after; None for none.
    train_audit : bool
        Train the text audit's missing variants (False: use those already trained).
    attribution_participants : int
        Dev participants the audio and face audit explains.
    """

    n_boot: int = 1000
    subgroup_boot: int = 200
    calibration: str | None = "platt"
    train_audit: bool = True
    attribution_participants: int = ATTRIBUTION_PARTICIPANTS


def subgroups_of(inputs: RunInputs, options: Options) -> tuple[dict[str, list], list[str]]:
    """Per scored split, :func:`subgroup_metrics` of each group column, and notes."""
    out, notes = {}, []
    for split in inputs.reports:
        predictions = inputs.predictions(split)
        columns = group_columns(inputs.corpus.participants, list(predictions.ids))
        if not columns:
            notes.append(f"{split} split: no participant has a known gender or other group label")
        out[split] = [
            subgroup_metrics(
                predictions.labels, predictions.probs, values, attribute, options.subgroup_boot
            )
            for attribute, values in columns.items()
        ]
    return out, notes


def audit_of(inputs: RunInputs, options: Options) -> tuple[str, dict[str, Any] | None, str]:
    """The run's shortcut audit as ``(title, audit or None, why not)``."""
    title = f"{inputs.kind.name} run {inputs.name}"
    try:
        if inputs.kind.document_level:
            return title, text_audit(inputs, options.n_boot, options.train_audit), ""
        return title, attribution_audit(inputs, options.attribution_participants), ""
    except Exception as error:  # noqa: BLE001 - the card says why; the rest is still built
        log.warning("the shortcut audit of %s failed: %s", inputs.run_dir, error)
        return title, None, f"The audit could not be made: {type(error).__name__}: {error}"


def _audits(inputs: RunInputs, options: Options) -> list[tuple[str, dict[str, Any] | None, str]]:
    if not inputs.kind.sources:
        return [audit_of(inputs, options)]
    out = []
    for modality, source in (inputs.config.get("sources") or {}).items():
        try:
            out.append(audit_of(load_run(source), options))
        except (OSError, ValueError) as error:
            out.append((f"{modality} source {source}", None, f"The source cannot be read: {error}"))
    return out


def _text_terms(inputs: RunInputs) -> list[dict[str, Any]]:
    from core.explain.text import term_importances
    from core.kinds.text_run import load_text_run, participant_documents

    speakers = inputs.config["text"]["speakers"]
    _, docs, labels, _ = participant_documents(inputs.corpus, "train", speakers)
    table = term_importances(load_text_run(inputs.run_dir), docs, labels, top_k=analysis.TOP_TERMS)
    return [
        {
            "label": row.term,
            "columns": ["importance", "points to", "training documents"],
            "values": [float(row.importance), row.points_to, int(row.doc_freq)],
        }
        for row in table.itertuples()
    ]


def explanations_of(
    inputs: RunInputs, audits: list[tuple[str, dict[str, Any] | None, str]]
) -> list[tuple[str, list[dict[str, Any]], str]]:
    """Top terms (text) and top features (from attribution audits) as ``(title, rows, how)``."""
    out = []
    if inputs.kind.document_level:
        try:
            how = (
                "The Random Forest's top n-grams by impurity importance (mean decrease in "
                "impurity, all terms sum to 1), with the class whose documents use them more."
            )
            out.append(("Top n-grams", _text_terms(inputs), how))
        except (ValueError, OSError) as error:
            out.append(("Top n-grams", [], f"not available: {error}"))
    for title, audit, _ in audits:
        if audit and audit["kind"] == "attribution":
            rows = [
                {
                    "label": f["feature"],
                    "columns": ["mean share of |attribution|"],
                    "values": [f["share"]],
                }
                for f in audit["features"]
            ]
            how = (
                f"{title}: features by their mean share of the Integrated Gradients "
                "attribution over the audited dev participants."
            )
            out.append((f"Top features, {title}", rows, how))
    return out


def build_run_card(run_dir: str | Path, options: Options | None = None) -> Card:
    """The model card of one run.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A finished run (text, audio, face or fusion).
    options : Options, optional
        How to build it (defaults: :class:`Options`).

    Raises
    ------
    FileNotFoundError
        No run in ``run_dir``.
    ValueError
        The run has no saved model or no scored split.
    """
    started = time.monotonic()
    options = options or Options()
    inputs = load_run(run_dir)
    card = Card(
        title=f"Model card: {inputs.kind.name} run {inputs.name}",
        subtitle=f"Research report built {time.strftime('%Y-%m-%d %H:%M')} from {inputs.run_dir}",
    )
    sections.intended_use(card)
    sections.data_section(card, inputs)
    sections.model_section(card, inputs)
    sections.curves_section(card, inputs)
    sections.results_section(card, inputs)
    subgroups, notes = subgroups_of(inputs, options)
    analysis.subgroups_section(card, subgroups, notes)
    fitting, fitting_note = fitting_predictions(inputs)
    judged = {split: inputs.predictions(split) for split in inputs.reports}
    analysis.calibration_section(
        card, calibration_section(judged, fitting, fitting_note, options.calibration)
    )
    audits = _audits(inputs, options)
    analysis.audit_section(card, audits)
    analysis.explanations_section(card, explanations_of(inputs, audits))
    analysis.limitations_section(card, inputs, [])
    card.build_seconds = time.monotonic() - started
    return card
