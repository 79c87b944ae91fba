"""The sections of a run's model card, each from a :class:`~core.report.inputs.RunInputs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data.text import SPEAKER_CHOICES
from core.evaluation.metrics import BASELINE_NAMES
from core.explain.predict import NOTICE
from core.kinds.results import read_evaluation, split_report
from core.report.card import Card, Section, number, setting, with_article, with_interval
from core.report.figures import METRIC_NAMES, curves_figure, interval_figure
from core.report.inputs import RunInputs

RESULT_METRICS = ("macro_f1", "f1_depressed", "f1_not_depressed", "balanced_accuracy", "auroc")
RESULT_NAMES = {
    "macro_f1": "macro-F1",
    "f1_depressed": "F1 depressed",
    "f1_not_depressed": "F1 not depressed",
    "balanced_accuracy": "balanced accuracy",
    "auroc": "AUROC",
}
SETTINGS_LEFT_OUT = ("version", "modality", "seed", "data", "sources")
MAX_PROBLEM_ROWS = 40


def intended_use(card: Card) -> None:
    """Research only: what the model is and is not for."""
    section = card.section("Intended use")
    section.warning(NOTICE)
    section.text(
        "Intended for research on depression detection from interviews: comparing models, "
        "settings and modalities on a research corpus. Not for diagnosis, screening or "
        "treatment decisions, and not validated on any population outside its corpus."
    )


def data_section(card: Card, inputs: RunInputs) -> None:
    """Corpus, splits, participants scored, exclusions and known defects met."""
    corpus, config = inputs.corpus, inputs.config
    section = card.section("Data")
    root = config["data"].get("root")
    section.text(
        f"Corpus: {root}" if root else "Corpus: the bundled synthetic sample (not real people)."
    )
    if (config.get("data") or {}).get("assignment"):
        section.text(
            "This run is a cross-validation fold: its train and dev splits are the fold's."
        )
    splits = corpus.splits()
    scored = {split: report["metrics"] for split, report in inputs.reports.items()}
    rows = [
        [
            split,
            info["n"],
            info["depressed"],
            scored[split]["n"] if split in scored else "not scored",
        ]
        for split, info in splits.items()
    ]
    rows += [[split, "", "", m["n"]] for split, m in scored.items() if split not in splits]
    section.table(["split", "participants", "depressed", "scored by this run"], rows)
    for split, why in inputs.split_notes.items():
        section.text(f"{split} split: {why}")
    problems = []
    for split, report in inputs.reports.items():
        shown = {int(p["id"]) for p in report["participants"]}
        left_out = sorted(set(corpus.ids(split, labelled=True)) - shown)
        if left_out:
            section.text(
                f"Left out of the {split} split ({len(left_out)}): participants "
                f"{', '.join(map(str, left_out[:30]))} (no usable files for this modality)."
            )
        for pid in sorted(shown):
            for problem in corpus.participants[pid].problems:
                problems.append([pid, split, problem])
    if problems:
        section.table(
            ["participant", "split", "known defect or problem met"],
            problems[:MAX_PROBLEM_ROWS],
            f"{len(problems)} problems among the scored participants"
            + (
                f" (the first {MAX_PROBLEM_ROWS} shown)" if len(problems) > MAX_PROBLEM_ROWS else ""
            ),
        )
    else:
        section.text("No known defect or data problem among the scored participants.")


def _settings(config: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, values in config.items():
        if name in SETTINGS_LEFT_OUT:
            continue
        if isinstance(values, dict):
            rows += [[f"{name}.{key}", setting(value)] for key, value in values.items()]
        else:
            rows.append([name, setting(values)])
    return rows


def _source_scores(path: str | None) -> list[str]:
    saved = read_evaluation(Path(path)) if path and Path(path).is_dir() else None
    cells = []
    for split in ("dev", "test"):
        report = split_report(saved, split)
        for metric in ("auroc", "macro_f1"):
            cells.append(
                with_interval(report["metrics"][metric], report["intervals"].get(metric))
                if report
                else "n/a"
            )
    return cells


def model_section(card: Card, inputs: RunInputs, seeds: list[int] | None = None) -> None:
    """The kind of model, its seed (or the seeds it is pooled over), state and settings.

    Parameters
    ----------
    card : Card
        The card to add the section to.
    inputs : RunInputs
        The run (for an experiment's configuration: one of its runs, for the settings).
    seeds : list of int, optional
        An experiment configuration's seeds, when its predictions are pooled over them.
    """
    section = card.section("Model and hyper-parameters")
    kind, config = inputs.kind, inputs.config
    if seeds is None:
        section.text(
            f"{with_article(kind.name, capital=True)} run ({kind.how_scored}); "
            f"seed {config.get('seed')}."
        )
    else:
        count = f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
        section.text(
            f"{with_article(kind.name, capital=True)} configuration ({kind.how_scored}), "
            f"pooled over {count} ({', '.join(map(str, seeds))}): each participant's "
            "probability is the mean of the seeds' runs. The settings below are those of "
            "one of its runs."
        )
    status = inputs.status
    section.text(
        f"State: {status.get('state', 'unknown')} ({status.get('reason') or 'no reason given'})."
    )
    if kind.document_level:
        speakers = config["text"]["speakers"]
        section.text(
            f"Document: {SPEAKER_CHOICES[speakers]['label']}. {SPEAKER_CHOICES[speakers]['note']}"
        )
    if sources := config.get("sources"):
        section.table(
            ["source", "run", "dev AUROC", "dev macro-F1", "test AUROC", "test macro-F1"],
            [[m, str(path), *_source_scores(path)] for m, path in sources.items()],
            "the fusion's source runs, with their own saved results",
        )
    section.table(["hyper-parameter", "value"], _settings(config))


def curves_section(card: Card, inputs: RunInputs) -> None:
    """Loss per epoch, or for a run fitted once its two log-losses."""
    section = card.section("Training curves")
    history = inputs.history
    if not history:
        section.text("The run recorded no epoch.")
        return
    if not inputs.kind.has_epochs:
        record = history[-1]
        section.text(
            f"Fitted once (no epochs): training log-loss {number(record.get('train_loss'))} "
            f"(out-of-fold), dev log-loss {number(record.get('val_loss'))}."
        )
        return
    best = history[-1].get("best_epoch")
    section.figure(
        curves_figure(history), f"{len(history)} epochs; the best (kept) epoch is {best}."
    )


def _result_rows(report: dict[str, Any]) -> list[list[Any]]:
    metrics, intervals = report["metrics"], report["intervals"]
    rows = [["this model"] + [with_interval(metrics[m], intervals.get(m)) for m in RESULT_METRICS]]
    if "late_fusion" in report:
        late = report["late_fusion"]
        rows.append(
            ["late fusion (mean of the modalities)"]
            + [with_interval(late["metrics"][m], late["intervals"].get(m)) for m in RESULT_METRICS]
        )
    for name, baseline in report["baselines"].items():
        rows.append([BASELINE_NAMES[name]] + [number(baseline[m]) for m in RESULT_METRICS])
    return rows


def results_section(card: Card, inputs: RunInputs) -> None:
    """Participant-level results per split, with intervals and the trivial baselines."""
    section = card.section("Participant-level results")
    section.text(
        "Window scores are averaged per participant first; intervals are 95 % bootstrap "
        "intervals over participants. Dev picks the checkpoint, so dev figures are "
        "optimistic; the test split was used for no choice."
    )
    series: dict[str, list] = {"AUROC": [], "macro-F1": []}
    for split, report in inputs.reports.items():
        m = report["metrics"]
        section.table(
            ["", *(RESULT_NAMES[k] for k in RESULT_METRICS)],
            _result_rows(report),
            f"{split} split: {m['n']} participants ({m['n_depressed']} depressed); "
            f"confusion matrix [[tn, fp], [fn, tp]] = {m['confusion_matrix']}",
        )
        for key, name in (("auroc", "AUROC"), ("macro_f1", "macro-F1")):
            series[name].append((f"{split}: model", m[key], report["intervals"].get(key)))
            for base, values in report["baselines"].items():
                series[name].append((f"{split}: {BASELINE_NAMES[base]}", values[key], None))
    section.figure(
        interval_figure("Participant-level results with 95 % intervals", series),
        "The model beside the constant baselines (their AUROC is 0.5 by definition).",
    )


def subgroup_block(section: Section, split: str, result: dict[str, Any]) -> None:
    """One split's subgroup table, figure and warnings."""
    attribute = result["attribute"]
    shown = ("auroc", "macro_f1", "sensitivity", "specificity")
    rows = [
        [g["group"], g["n"], g["n_depressed"]]
        + [with_interval(g["values"][m], g["intervals"][m]) for m in shown]
        for g in result["groups"]
    ]
    rows.append(
        [
            "all",
            sum(g["n"] for g in result["groups"]),
            sum(g["n_depressed"] for g in result["groups"]),
        ]
        + [with_interval(result["overall"][m], result["overall_interval"][m]) for m in shown]
    )
    rows.append(
        ["largest gap between groups", "", ""]
        + [with_interval(result["difference"][m], result["difference_interval"][m]) for m in shown]
    )
    section.table(
        [attribute, "participants", "depressed", *(METRIC_NAMES[m] for m in shown)],
        rows,
        f"{split} split by {attribute} ({result['n_boot']} bootstrap resamples; "
        f"{result['left_out']} participants without a known {attribute} left out)",
    )
    for note in result["warnings"]:
        section.warning(f"{split} split: {note}")
    series = {
        METRIC_NAMES[m]: [
            (f"{g['group']} (n={g['n']})", g["values"][m], g["intervals"][m])
            for g in result["groups"]
        ]
        for m in ("auroc", "sensitivity", "specificity")
    }
    section.figure(interval_figure(f"{split} split by {attribute}", series))
