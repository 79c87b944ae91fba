"""Participant-level scores of a run: ``python -m core.evaluate RUN_DIR [--split dev|test] ...``.

Window scores are averaged per participant before any metric is computed. The report
holds F1 of each class, macro-F1, precision, recall, balanced accuracy, AUROC and the
confusion matrix, bootstrap 95 % intervals over participants, and the trivial baselines
(always 'depressed', always 'not depressed') on the same participants. A fusion run also
reports the late-fusion baseline (mean of the modalities' probabilities).

The dev split picks a run's best checkpoint (lowest validation loss), so its figures are
optimistic; the test split, where ``full_test_split.csv`` gives its labels, is not used
for any choice. When a run ends, the training process evaluates its best model on both
(:func:`evaluate_and_save`) and writes ``evaluation.json`` into the run folder, which the
Runs page reads; ``--save`` does the same for a run finished by an older version.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.config import open_corpus
from core.data import formats
from core.errors import Refused, run_command
from core.evaluation.metrics import BASELINE_NAMES, evaluate
from core.kinds import best_model_file, kind_of
from core.kinds.callbacks import json_safe
from core.kinds.results import EVALUATION_FILE, N_BOOT, SPLITS, evaluation_key, test_withheld
from core.runs import folder
from core.runs.folder import read_config
from core.runs.status import read_status

log = logging.getLogger(__name__)


def evaluate_run(run_dir: str | Path, split: str = "dev", n_boot: int = N_BOOT) -> dict[str, Any]:
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
    kind = kind_of(run_dir)
    scores = kind.score_split(kind.load(run_dir), split)
    ids, probs, labels = scores.ids, scores.probs, scores.labels
    extra: dict[str, Any] = {}
    if "late_fusion" in scores.extra and len(ids):
        extra["late_fusion"] = evaluate(ids, scores.extra["late_fusion"], labels, n_boot=n_boot)
    if len(ids) == 0 or (np.asarray(labels) < 0).all():
        raise ValueError(f"the {split} split has no labelled participants to evaluate")
    report = evaluate(ids, probs, labels, n_boot=n_boot)
    return json_safe(
        {"run": str(run_dir), "modality": kind.name, "split": split, **report, **extra}
    )


def missing_test_labels(config: dict[str, Any]) -> str | None:
    """Why a run's corpus has no test labels, or None when some test participant has one.

    Parameters
    ----------
    config : dict
        The run configuration (its data root).

    Returns
    -------
    str or None
        A sentence for the reader, e.g. that ``full_test_split.csv`` is missing.
    """
    corpus = open_corpus(config)
    if corpus.ids("test", labelled=True):
        return None
    labels = corpus.root / formats.TEST_LABELS_FULL
    if not labels.is_file():
        return (
            f"no test labels: {formats.TEST_LABELS_FULL} is not in {corpus.root}, "
            "so only the dev split can be scored"
        )
    return f"no test labels: {labels} labels none of the test participants"


def _test_unscored(config: dict[str, Any]) -> str | None:
    """Why the test split is not scored (withheld, or no labels), or None."""
    return test_withheld(config) or missing_test_labels(config)


def evaluate_and_save(run_dir: str | Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """Evaluate a run's best model on dev and test once, and save it in the run folder.

    Each split is evaluated on its own: a split whose evaluation fails records the
    error (``Type: message``), a test split without labels says so, and neither stops
    the other split. The run's own state is never changed.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        Run folder with a best model.
    n_boot : int
        Bootstrap resamples for the intervals.

    Returns
    -------
    dict or None
        What was written to ``evaluation.json`` (see
        :func:`core.kinds.results.read_evaluation`); None when the run has no best model.
    """
    run_dir = Path(run_dir)
    key = evaluation_key(run_dir, n_boot)
    if key is None:
        return None
    splits: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        try:
            why = _test_unscored(read_config(run_dir)) if split == "test" else None
            if why:
                splits[split] = {"no_labels": why}
            else:
                splits[split] = {"report": evaluate_run(run_dir, split, n_boot)}
        except Exception as error:  # noqa: BLE001 - recorded for the reader, never raised
            splits[split] = {"error": f"{type(error).__name__}: {error}"}
            log.warning("evaluating %s on the %s split failed: %s", run_dir, split, error)
    entry = {"key": key, "evaluated": time.time(), "splits": splits}
    folder.write_json_atomic(run_dir / EVALUATION_FILE, entry)
    return entry


def evaluate_finished_run(run_dir: str | Path) -> None:
    """The end of a training run: evaluate and save, logging instead of raising.

    A run that completed stays completed whatever happens here; what went wrong is in
    ``evaluation.json`` (or, when even that cannot be written, in the run's log).
    """
    started = time.monotonic()
    try:
        entry = evaluate_and_save(run_dir)
    except Exception as error:  # noqa: BLE001 - an evaluation never fails the run
        log.error(
            "could not save the evaluation of %s: %s: %s", run_dir, type(error).__name__, error
        )
        return
    if entry is None:
        log.info("no best model in %s: nothing to evaluate", run_dir)
        return
    for split, result in entry["splits"].items():
        if "report" in result:
            m = result["report"]["metrics"]
            log.info(
                "%s split: macro-F1 %.3f on %d participants (%d depressed)",
                split,
                m["macro_f1"],
                m["n"],
                m["n_depressed"],
            )
        else:
            log.info("%s split: %s", split, result.get("no_labels") or result.get("error"))
    log.info(
        "evaluation saved in %s (%.1f s)",
        Path(run_dir) / EVALUATION_FILE,
        time.monotonic() - started,
    )


def _print_report(report: dict[str, Any]) -> None:
    metrics = report["metrics"]
    print(f"{report['modality']} run {report['run']}, {report['split']} split, per participant")
    print(f"  participants {metrics['n']} ({metrics['n_depressed']} depressed)")
    rows = [("model", metrics, report["intervals"])]
    rows += [(BASELINE_NAMES[name], m, {}) for name, m in report["baselines"].items()]
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
    """Entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: the command line).

    Returns
    -------
    int
        0 when the run was scored; 1 when it could not be (the message says why); 2 for
        bad arguments, a run that never saved a model, or a fusion whose source runs
        changed since it was trained.
    """
    parser = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--n-boot", type=int, default=N_BOOT, help="bootstrap resamples")
    parser.add_argument(
        "--save",
        action="store_true",
        help=f"evaluate dev and test and write {EVALUATION_FILE} into the run folder",
    )
    args = parser.parse_args(argv)
    return run_command(_evaluate, args, expected=(ValueError, FileNotFoundError))


def check_has_model(run_dir: str | Path) -> None:
    """Refuse, naming the run and its state, a run that never saved a model.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A run folder (one holding ``config.json``).

    Raises
    ------
    core.errors.Refused
        The run has no best model: it stopped or failed before its first epoch ended.
    """
    run_dir = Path(run_dir)
    if not (run_dir / folder.CONFIG).is_file() or best_model_file(run_dir) is not None:
        return  # not a run (said when its configuration is read), or one with a model
    status = read_status(run_dir)
    state = status.get("state", "unknown")
    reason = f": {status['reason']}" if status.get("reason") else ""
    raise Refused(
        f"the run {folder.run_name(run_dir)} never saved a model ({state}{reason}), so there "
        "is nothing to evaluate; resume it (python -m core.runs resume RUN_DIR) or train a "
        "new run"
    )


def _evaluate(args: argparse.Namespace) -> int:
    check_has_model(args.run_dir)
    if args.save:
        entry = evaluate_and_save(args.run_dir, args.n_boot)
        if entry is None:
            print(f"error: {args.run_dir} holds no best model to evaluate", file=sys.stderr)
            return 1
        for split, result in entry["splits"].items():
            outcome = "scored" if "report" in result else result.get("no_labels") or result["error"]
            print(f"{split}: {outcome}")
        print(Path(args.run_dir) / EVALUATION_FILE)
        return 0
    report = evaluate_run(args.run_dir, args.split, args.n_boot)
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
