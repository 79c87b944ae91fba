"""The card's analysis sections: subgroups, calibration, shortcut audit, explanations, limits."""

from __future__ import annotations

from typing import Any

from core.report.audit import report_folder
from core.report.card import Card, Section, number, with_interval
from core.report.figures import bar_figure, interval_figure, reliability_figure
from core.report.sections import subgroup_block

TOP_TERMS = 15


def subgroups_section(
    card: Card, subgroups: dict[str, list[dict[str, Any]]], notes: list[str]
) -> None:
    """Per split and attribute, the metrics per group (:mod:`core.report.subgroups`)."""
    section = card.section("Subgroups")
    section.text(
        "Participant-level metrics per group, each with its 95 % bootstrap interval "
        "(fairlearn's MetricFrame resamples the participants), the group sizes, and the "
        "largest gap between groups with its interval. Sensitivity: share of depressed "
        "participants found; specificity: share of the others correctly left."
    )
    for note in notes:
        section.warning(note)
    for split, results in subgroups.items():
        for result in results:
            subgroup_block(section, split, result)


def calibration_section(card: Card, calibration: dict[str, Any]) -> None:
    """Brier score, ECE and reliability diagrams, before and after recalibration."""
    section = card.section("Calibration")
    section.text(
        "Can the probabilities be read as risks? Brier score (lower is better) and expected "
        "calibration error (ECE, 10 equal-width bins) per split; the reliability diagram "
        "plots the share depressed against the mean probability in each bin."
    )
    method = calibration["method_text"]
    fitting = calibration["fitting"]
    if method:
        section.text(
            f"Recalibration: {method}, fitted on {fitting['note']}. It is never fitted on the "
            "split it is judged on."
        )
    else:
        section.text(f"No recalibration shown. Fitting set: {fitting['note']}.")
    for note in calibration["notes"]:
        section.warning(note)
    rows = []
    for split, entry in calibration["splits"].items():
        for stage, summary in entry.items():
            label = "as scored" if stage == "before" else f"after {calibration['method']}"
            rows.append([split, label, summary["n"], summary["brier"], summary["ece"]])
    section.table(["split", "probabilities", "participants", "Brier", "ECE"], rows)
    for split, entry in calibration["splits"].items():
        section.figure(reliability_figure(split, entry, method))


def _text_audit(section: Section, audit: dict[str, Any]) -> None:
    section.text(
        "The same settings trained on other speakers' words, and a length-only baseline "
        "(a logistic regression on the number of words the participant said, fitted on the "
        "training participants), "
        "all scored on the same participants. If the interviewer-only model or the length "
        "baseline does about as well as this run, the score may be explained by the "
        "interviewer's prompts or by talkativeness rather than by what the participant said."
    )
    for note in audit["notes"]:
        section.warning(note)
    for split, entry in audit["splits"].items():
        rows = [
            [
                r["name"],
                r["n"],
                r["n_depressed"],
                with_interval(r["auroc"], r["auroc_interval"]),
                with_interval(r["macro_f1"], r["macro_f1_interval"]),
                with_interval(
                    r.get("auroc_minus_participant"), r.get("auroc_minus_participant_interval")
                ),
            ]
            for r in entry["rows"]
        ]
        section.table(
            [
                "model",
                "participants",
                "depressed",
                "AUROC",
                "macro-F1",
                "AUROC minus participant-only (paired)",
            ],
            rows,
            f"{split} split: the same {len(entry['ids'])} participants for every row",
        )
        series = {
            name: [(r["name"], r[key], r[f"{key}_interval"]) for r in entry["rows"]]
            for key, name in (("auroc", "AUROC"), ("macro_f1", "macro-F1"))
        }
        section.figure(interval_figure(f"Shortcut audit, {split} split", series))
    findings = audit_findings(audit)
    for finding in findings:
        section.warning(finding)


def audit_findings(audit: dict[str, Any]) -> list[str]:
    """Plain sentences on what a text audit shows, per split (empty when nothing stands out).

    A variant or the length baseline stands out when its AUROC is within 0.05 of the
    participant-only model's, or above it.
    """
    out = []
    for split, entry in audit["splits"].items():
        rows = {r["speakers"] or r["name"]: r for r in entry["rows"]}
        own = rows.get("participant")
        if own is None or own["auroc"] is None:
            continue
        for name, row in rows.items():
            if name == "participant" or row["auroc"] is None or row["auroc"] < own["auroc"] - 0.05:
                continue
            why = (
                "the interviewer's words carry the label"
                if row["shortcut_prone"]
                else "the number of words alone explains about as much as the model"
            )
            out.append(
                f"{split} split: {row['name']} reaches AUROC {number(row['auroc'])} against "
                f"{number(own['auroc'])} for the participant-only model: {why}."
            )
    return out


def _attribution_audit(section: Section, audit: dict[str, Any]) -> None:
    gate = audit.get("gate")
    section.text(
        f"{audit['modality']} run, frames kept: {gate}. Share of the Integrated Gradients "
        "attribution (absolute values) that falls inside the participant's turns, on the "
        "first dev participants. "
        + (
            "With only participant turns kept, the share is close to 1 by construction."
            if gate == "participant"
            else "The whole session is kept, so the rest is time when the interviewer "
            "speaks or nobody does."
        )
    )
    for note in audit["notes"]:
        section.warning(note)
    rows = [
        [p["id"], p["windows"], number(p.get("time_inside")), number(p["share_inside"])]
        for p in audit["participants"]
    ]
    section.table(
        ["participant", "windows", "time inside participant turns", "attribution inside"],
        rows,
        f"mean share of attribution inside: {number(audit['mean_share_inside'])}, of time "
        f"inside: {number(audit.get('mean_time_inside'))} (attribution above the time share "
        "means the model leans on the participant's turns)",
    )
    known = [p for p in audit["participants"] if p["share_inside"] is not None]
    if known:
        section.figure(
            bar_figure(
                "Attribution inside participant turns",
                [str(p["id"]) for p in known],
                [p["share_inside"] for p in known],
                "share of |attribution|",
            )
        )


def audit_section(card: Card, audits: list[tuple[str, dict[str, Any] | None, str]]) -> None:
    """The shortcut audit of the run (or of each source of a fusion)."""
    section = card.section("Shortcut audit")
    for title, audit, note in audits:
        if len(audits) > 1:
            section.text(title)
        if audit is None:
            section.warning(note)
        elif audit["kind"] == "attribution":
            _attribution_audit(section, audit)
        else:
            _text_audit(section, audit)


def explanations_section(
    card: Card, explanations: list[tuple[str, list[dict[str, Any]], str]]
) -> None:
    """The top terms (text) or features (audio, face) and how they were measured."""
    section = card.section("Top explanations")
    if not explanations:
        section.text("No explanation is available for this run.")
    for title, rows, how in explanations:
        if not rows:
            section.text(f"{title}: {how}")
            continue
        section.text(how)
        labels = [str(r["label"]) for r in rows]
        section.table(["", *rows[0]["columns"]], [[r["label"], *r["values"]] for r in rows])
        section.figure(
            bar_figure(title, labels, [float(r["values"][0]) for r in rows], rows[0]["columns"][0])
        )


def limitations_section(card: Card, inputs: Any, extra: list[str]) -> None:
    """What a reader must keep in mind."""
    section = card.section("Known limitations")
    items = [
        "Dev figures are optimistic: the dev split chose the checkpoint (or, for text, was "
        "looked at during development).",
        "Intervals are bootstrap intervals over few participants; overlapping intervals mean "
        "the data cannot tell the compared models apart.",
        "DAIC-WOZ holds 189 interviews with one virtual interviewer, in English, recorded in "
        "one setting; results may not carry over to other people, interviewers or settings.",
        "PHQ-8 is a self-report questionnaire, not a clinical diagnosis; the label is a "
        "threshold (score 10) on it.",
        *extra,
    ]
    if not inputs.config["data"].get("root"):
        items.insert(
            0,
            "These results are on the bundled synthetic sample: planted signals, "
            "not real people. They show that the pipeline works, nothing about depression.",
        )
    section.items(items)
    section.text(
        "The report's own files (audit variants, attribution cache) are in "
        f"{report_folder(inputs.run_dir)}."
    )
