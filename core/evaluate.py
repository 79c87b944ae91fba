"""``python -m core.evaluate RUN_DIR [--split dev|test] [--json]``: participant-level scores.

Window scores are averaged per participant before any metric is computed. The report
holds F1 of each class, macro-F1, precision, recall, balanced accuracy, AUROC and the
confusion matrix, bootstrap 95 % intervals over participants, and the trivial baselines
(always depressed, always not depressed) on the same participants. A fusion run also
reports the late-fusion baseline (mean of the modalities' probabilities).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from core.evaluation.metrics import evaluate
from core.pipeline.callbacks import json_safe
from core.pipeline.config import read_config


def evaluate_run(run_dir: str | Path, split: str = "dev", n_boot: int = 1000) -> dict[str, Any]:
    """Score a run's best model on one split, per participant.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        Run folder.
    split : {"dev", "test"}
        Which participants.
    n_boot : int
        Bootstrap resamples for the intervals.

    Returns
    -------
    dict
        ``run``, ``modality``, ``split`` and the :func:`core.evaluation.metrics.evaluate`
        report (``metrics``, ``intervals``, ``baselines``, ``participants``), plus
        ``late_fusion`` for fusion runs.

    Raises
    ------
    ValueError
        The split has no labelled participants (e.g. a test split without
        ``full_test_split.csv``).
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    modality = config["modality"]
    extra: dict[str, Any] = {}
    if modality == "text":
        from core.data import Corpus
        from core.pipeline.config import resolve_data_root
        from core.pipeline.text import load_text_run, predict_text

        corpus = Corpus(resolve_data_root(config))
        ids, probs, labels = predict_text(
            load_text_run(run_dir), corpus, split, config["text"]["speakers"]
        )
        ids, probs, labels = np.asarray(ids), np.asarray(probs), np.asarray(labels)
    elif modality == "fusion":
        from core.pipeline.fusion import predict_fusion

        result = predict_fusion(run_dir, split)
        ids, probs, labels = result["ids"], result["fusion"], result["labels"]
        if len(ids):
            extra["late_fusion"] = evaluate(ids, result["late_fusion"], labels, n_boot=n_boot)
    else:
        from core.pipeline.neural import load_neural_run, predict_windows, prepare_windows

        model, saved, normaliser = load_neural_run(run_dir)
        windows, _, _ = prepare_windows(saved, (split,), normaliser)
        ids, labels = windows[split].participant_ids, windows[split].y
        probs = predict_windows(model, windows[split].x)
    if len(ids) == 0 or (np.asarray(labels) < 0).all():
        raise ValueError(f"the {split} split has no labelled participants to evaluate")
    report = evaluate(ids, probs, labels, n_boot=n_boot)
    return json_safe({"run": str(run_dir), "modality": modality, "split": split, **report, **extra})


def _print_report(report: dict[str, Any]) -> None:
    metrics = report["metrics"]
    print(f"{report['modality']} run {report['run']}, {report['split']} split, per participant")
    print(f"  participants {metrics['n']} ({metrics['n_depressed']} depressed)")
    rows = [("model", metrics, report["intervals"])]
    rows += [(name, m, {}) for name, m in report["baselines"].items()]
    if "late_fusion" in report:
        rows.insert(1, ("late fusion", report["late_fusion"]["metrics"], {}))
    names = ("macro_f1", "f1_depressed", "f1_not_depressed", "balanced_accuracy", "auroc")
    print(f"  {'':22s}" + "".join(f"{n:>20s}" for n in names))
    for label, m, intervals in rows:
        cells = []
        for n in names:
            value = m.get(n)
            text = "n/a" if value is None else f"{value:.3f}"
            if n in intervals and intervals[n] and None not in intervals[n]:
                text += f" [{intervals[n][0]:.2f},{intervals[n][1]:.2f}]"
            cells.append(f"{text:>20s}")
        print(f"  {label:22s}" + "".join(cells))
    print(f"  confusion matrix [[tn, fp], [fn, tp]]: {metrics['confusion_matrix']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    try:
        report = evaluate_run(args.run_dir, args.split, args.n_boot)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
