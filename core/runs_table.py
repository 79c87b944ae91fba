"""The runs table: one row per run folder, with participant-level dev and test metrics.

The best checkpoint of a run is the epoch with the lowest validation loss on the dev
participants, so the dev figures are optimistic: dev both picked the model and scores it.
The test split, where its labels exist (``full_test_split.csv``), is the honest figure.

Dev point metrics come from the best epoch's record in ``metrics.jsonl`` (the epoch
whose weights the best checkpoint holds). Everything else (bootstrap intervals, the test
split, the participants' probabilities) comes from the evaluation the training process
writes into the run folder once the run ends (:func:`core.evaluate.evaluate_and_save`,
read back with :func:`read_evaluation`, which checks it). Reading the table
never evaluates anything; a run finished by an older version, without the file, reads
"not evaluated" until someone asks for it.

The trivial baselines (always 'depressed', always 'not depressed') are computed on the
same participants as each run's own numbers.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from core import hparams
from core.kinds import KINDS, best_model_file, results
from core.kinds.choice import best_record
from core.kinds.results import EVALUATION_FILE, N_BOOT, SPLITS, split_report
from core.runs import folder
from core.runs.manager import ACTIVE, RunInfo, list_runs, read_status
from core.runs.schema import RunFileError, check_evaluation
from core.runs.status import UNREADABLE, judge

METRICS = ("macro_f1", "f1_depressed", "f1_not_depressed", "auroc")
BASELINES = ("always_depressed", "always_not_depressed")
NOT_EVALUATED = "not evaluated"


def _state(run_dir: Path) -> str | None:
    """The state written in a run's status (``starting`` when none); None if unreadable."""
    try:
        return (folder.read_json(run_dir / folder.STATUS) or {}).get("state", "starting")
    except (OSError, ValueError):
        return None


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def read_evaluation(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """A run's saved evaluation (:func:`core.kinds.results.read_evaluation`), checked.

    Returns
    -------
    dict or None
        None also when the file fails :func:`core.runs.schema.check_evaluation` (a
        hand-edited or foreign file: the run is listed as unreadable, and evaluating it
        again replaces the file).
    """
    saved = results.read_evaluation(run_dir, n_boot)
    try:
        return None if saved is None else check_evaluation(saved)
    except RunFileError:
        return None


def runs_stamp(root: Path) -> tuple:
    """A cheap change marker for the runs table (use it as a cache key).

    It changes when a run appears or disappears, or when a run's configuration, status,
    metrics or cached evaluation is rewritten, and when a run recorded as running is
    judged dead (:func:`core.runs.manager.read_status`; nothing is written).
    """
    stamp = []
    for run_dir in folder.run_folders(root):
        judged = None
        if _state(run_dir) in ACTIVE:
            with contextlib.suppress(OSError, ValueError):
                judged = read_status(run_dir).get("state")
        stamp.append(
            (folder.run_name(run_dir), judged)
            + tuple(
                _mtime(run_dir / name)
                for name in (folder.CONFIG, folder.STATUS, folder.METRICS, EVALUATION_FILE)
            )
        )
    return tuple(stamp)


def baselines_from_counts(n: int | None, n_depressed: int | None) -> dict[str, float | None]:
    """Macro-F1 of the constant classifiers on ``n`` participants (``n_depressed`` depressed).

    Closed forms of :func:`core.evaluation.metrics.trivial_baselines` (F1 = 2 TP / (2 TP +
    FP + FN); the class never predicted scores 0), which is far slower to call per row.
    """
    if not n or n_depressed is None:
        return {"always_depressed": None, "always_not_depressed": None}
    n, k = int(n), int(n_depressed)
    return {
        "always_depressed": k / (n + k),  # F1 depressed = 2k / (2k + (n - k)), halved
        "always_not_depressed": (n - k) / (2 * n - k),  # F1 not = 2(n-k) / (2(n-k) + k)
    }


def _hparam_values(config: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters flattened out of their configuration sections, in table order."""
    values: dict[str, Any] = {"seed": config.get("seed")}
    for h in hparams.HPARAMS:
        value = config.get(h.section, {}).get(h.name)
        values[h.name] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    values["data_root"] = (config.get("data") or {}).get("root") or "bundled sample"
    return values


def evaluation_note(info: RunInfo, saved: dict[str, Any] | None) -> str:
    """What the ``evaluation`` column says about a run's saved evaluation."""
    if saved is not None:
        splits = saved.get("splits", {})
        parts = []
        for split in SPLITS:
            entry = splits.get(split) or {}
            if "report" in entry:
                parts.append(split)
            elif "no_labels" in entry and split == "test" and results.test_withheld(info.config):
                parts.append(f"{split}: withheld until the experiment is promoted")
            elif "no_labels" in entry:
                parts.append(f"{split}: no labels")
            else:
                parts.append(f"{split} failed: {entry.get('error', 'no result')}")
        return "; ".join(parts)
    if info.status in ACTIVE:
        return "after the run ends"
    if best_model_file(info.path) is None:
        return "no saved model"
    with contextlib.suppress(OSError, ValueError):
        judged = judge(info.path)
        if judged.status.get("owned") and judged.alive:
            return "being evaluated"  # the training process evaluates before it exits
    return NOT_EVALUATED


def _split_columns(prefix: str, report: dict[str, Any] | None) -> dict[str, Any]:
    """Participants, metrics with intervals and baselines of one split's report."""
    report = report or {}
    metrics, intervals = report.get("metrics") or {}, report.get("intervals") or {}
    row: dict[str, Any] = {
        f"n_{prefix}": metrics.get("n"),
        f"n_{prefix}_depressed": metrics.get("n_depressed"),
    }
    for name in METRICS:
        row[f"{prefix}_{name}"] = metrics.get(name)
        lo, hi = intervals.get(name) or (None, None)
        row[f"{prefix}_{name}_lo"], row[f"{prefix}_{name}_hi"] = lo, hi
    baselines = report.get("baselines") or {}
    for name in BASELINES:
        row[f"{prefix}_{name}_macro_f1"] = (baselines.get(name) or {}).get("macro_f1")
    return row


def _written_modality(run_dir: Path) -> str:
    """The modality a run's ``config.json`` names, when it names a known one; else ``?``."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        modality = folder.read_json(run_dir / folder.CONFIG).get("modality")
        if modality in KINDS:
            return modality
    return "?"


def unreadable_row(info: RunInfo) -> dict[str, Any]:
    """The row of a run folder that cannot be read: its name, status, reason and path.

    Its modality is the one its configuration names, when that can be read (the run is
    shown for what it is, though nothing picks it: its :class:`RunInfo` has none).
    """
    row = dict.fromkeys(run_row_columns())
    row.update(
        run=folder.run_name(info.path), modality=_written_modality(info.path), status=UNREADABLE
    )
    row.update(reason=info.reason, epochs=0, evaluation=UNREADABLE, path=str(info.path))
    return row


def run_row(info: RunInfo, n_boot: int = N_BOOT) -> dict[str, Any]:
    """One row of the runs table (see :func:`runs_table`).

    A run folder that cannot be read (:data:`core.runs.status.UNREADABLE`) gives
    :func:`unreadable_row`.
    """
    if info.status == UNREADABLE:
        return unreadable_row(info)
    record = best_record(folder.read_metrics(info.path)) or {}
    saved = read_evaluation(info.path, n_boot)
    dev = _split_columns("dev", split_report(saved, "dev"))
    row: dict[str, Any] = {
        "run": folder.run_name(info.path),
        "modality": info.modality,
        "status": info.status,
        "reason": info.reason,
        "epochs": info.epochs_done,
        "max_epochs": info.max_epochs,
        "best_epoch": record.get("epoch"),
        "best_val_loss": info.best_val_loss,
        "n_dev": record.get("val_n", dev["n_dev"]),
        "n_dev_depressed": record.get("val_n_depressed", dev["n_dev_depressed"]),
    }
    for name in METRICS:
        row[name] = record.get(f"val_{name}", dev[f"dev_{name}"])
        row[f"{name}_lo"], row[f"{name}_hi"] = dev[f"dev_{name}_lo"], dev[f"dev_{name}_hi"]
    base = baselines_from_counts(row["n_dev"], row["n_dev_depressed"])
    for name in BASELINES:
        row[f"{name}_macro_f1"] = base[name]
    row.update(_split_columns("test", split_report(saved, "test")))
    row["evaluation"] = evaluation_note(info, saved)
    row.update({k: v for k, v in _hparam_values(info.config).items() if k not in row})
    row["path"] = str(info.path)
    return row


def runs_table(root: Path, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Every run under ``root`` as one table row, newest first; nothing is evaluated here.

    Parameters
    ----------
    root : pathlib.Path
        Runs root (the folder that holds the run folders).
    n_boot : int
        Bootstrap resamples the saved evaluations must have used.

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, ``modality``, ``status``, ``reason``, ``epochs``,
        ``max_epochs``, ``best_epoch``, ``best_val_loss``; the dev split (which picked
        the best epoch): ``n_dev``, ``n_dev_depressed``, for each of macro_f1,
        f1_depressed, f1_not_depressed and auroc the value at the best epoch and its
        95 % bootstrap interval (``<name>_lo``, ``<name>_hi``), the baselines'
        macro-F1 (``always_depressed_macro_f1``, ``always_not_depressed_macro_f1``);
        the test split, from the saved evaluation: ``n_test``, ``n_test_depressed``,
        ``test_<name>``, ``test_<name>_lo``, ``test_<name>_hi``,
        ``test_always_depressed_macro_f1``, ``test_always_not_depressed_macro_f1``
        (empty without test labels or evaluation); ``evaluation`` (what was evaluated,
        or why not); ``seed``, every hyper-parameter used by at least one run,
        ``data_root`` and ``path``. All metrics are per participant.
    """
    rows = []
    for info in list_runs(Path(root)):
        with contextlib.suppress(OSError):  # a run deleted while the table is built
            rows.append(run_row(info, n_boot))
    if not rows:
        return pd.DataFrame(columns=list(run_row_columns()))
    table = pd.DataFrame(rows)
    fixed = run_row_columns()
    unused = [
        h.name
        for h in hparams.HPARAMS
        if h.name in table and h.name not in fixed and table[h.name].isna().all()
    ]
    return table.drop(columns=unused)


def run_row_columns() -> list[str]:
    """Column names of an empty runs table (hyper-parameters left out)."""
    names = ["run", "modality", "status", "reason", "epochs", "max_epochs", "best_epoch"]
    names += ["best_val_loss", "n_dev", "n_dev_depressed"]
    for name in METRICS:
        names += [name, f"{name}_lo", f"{name}_hi"]
    names += [f"{name}_macro_f1" for name in BASELINES]
    names += ["n_test", "n_test_depressed"]
    for name in METRICS:
        names += [f"test_{name}", f"test_{name}_lo", f"test_{name}_hi"]
    names += [f"test_{name}_macro_f1" for name in BASELINES]
    return [*names, "evaluation", "seed", "data_root", "path"]


def table_csv(table: pd.DataFrame) -> bytes:
    """The runs table as UTF-8 CSV (the export of the Runs page)."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")
