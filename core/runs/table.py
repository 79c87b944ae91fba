"""The runs table: one row per run folder, with participant-level dev metrics.

Point metrics come from the best epoch's record in ``metrics.jsonl`` (the lowest
validation loss, the epoch whose weights ``best_model.pth`` holds). Bootstrap intervals
need the participants' probabilities, so they come from a full evaluation of the saved
best model (:func:`core.evaluate.evaluate_run`), computed once per checkpoint and kept in
the run folder as ``evaluation_dev.json``. Its key is the checkpoint's modification time
and size: a resumed run that saves a better model is scored again, nothing else is.

The trivial baselines (always depressed, always not depressed) are computed on the same
dev participants as each run's own numbers, from the counts in its records.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from core import hparams
from core.runs import folder
from core.runs.manager import ACTIVE, RunInfo, list_runs, read_status

EVALUATION_FILE = "evaluation_dev.json"
EVALUATION_SPLIT = "dev"
N_BOOT = 1000
METRICS = ("macro_f1", "f1_depressed", "f1_not_depressed", "auroc")
# core.pipeline.text.MODEL_INFO, named here so that this module does not import torch.
TEXT_MODEL_INFO = "model.json"


def best_checkpoint(run_dir: Path) -> Path | None:
    """The file that holds a run's best model, or None when there is none yet.

    Neural and fusion runs keep ``best_model.pth``; a text run keeps the fitted pipeline
    named in its ``model.json``.
    """
    run_dir = Path(run_dir)
    if (run_dir / folder.BEST).exists():
        return run_dir / folder.BEST
    info = folder.read_json(run_dir / TEXT_MODEL_INFO)
    if info and (run_dir / info.get("file", "")).is_file():
        return run_dir / info["file"]
    return None


def evaluation_key(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """What a cached evaluation must match to be current; None without a best model."""
    checkpoint = best_checkpoint(run_dir)
    if checkpoint is None:
        return None
    stat = checkpoint.stat()
    return {
        "checkpoint": checkpoint.name,
        "mtime_ns": stat.st_mtime_ns,
        "size": stat.st_size,
        "split": EVALUATION_SPLIT,
        "n_boot": int(n_boot),
    }


def read_evaluation(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """The cached dev evaluation of a run's current best model, or None when stale.

    Returns
    -------
    dict or None
        ``{"key", "report"}`` or ``{"key", "error"}`` (an evaluation that failed is
        remembered too, so that it is not retried on every page render).
    """
    try:
        key = evaluation_key(run_dir, n_boot)
        cached = folder.read_json(Path(run_dir) / EVALUATION_FILE)
    except (OSError, ValueError):  # vanished, or not JSON: treat as not evaluated
        return None
    if key is None or not cached or cached.get("key") != key:
        return None
    return cached


def ensure_evaluation(run_dir: Path, n_boot: int = N_BOOT) -> dict[str, Any] | None:
    """Evaluate a run's best model on dev participants once, and cache the result.

    Returns
    -------
    dict or None
        As :func:`read_evaluation`; None when the run has no best model yet.
    """
    from core.evaluate import evaluate_run

    run_dir = Path(run_dir)
    cached = read_evaluation(run_dir, n_boot)
    key = evaluation_key(run_dir, n_boot)
    if cached is not None or key is None:
        return cached
    try:
        entry = {"key": key, "report": evaluate_run(run_dir, EVALUATION_SPLIT, n_boot)}
    except Exception as error:  # noqa: BLE001 - any failure is shown in the table, not raised
        entry = {"key": key, "error": f"{type(error).__name__}: {error}"}
    folder.write_json_atomic(run_dir / EVALUATION_FILE, entry)
    return entry


def forget_evaluation(run_dir: Path) -> None:
    """Drop a run's cached evaluation so that the next table scores it again."""
    (Path(run_dir) / EVALUATION_FILE).unlink(missing_ok=True)


def _run_dirs(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / folder.CONFIG).is_file())


def stale_evaluations(root: Path, n_boot: int = N_BOOT) -> list[Path]:
    """Finished runs with a best model whose cached evaluation is missing or out of date."""
    stale = []
    for run_dir in _run_dirs(root):
        if _state(run_dir) in folder.FINISHED and best_checkpoint(run_dir) is not None:
            if read_evaluation(run_dir, n_boot) is None:
                stale.append(run_dir)
    return stale


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


def runs_stamp(root: Path) -> tuple:
    """A cheap change marker for the runs table (use it as a cache key).

    It changes when a run appears or disappears, or when a run's configuration, status,
    metrics or cached evaluation is rewritten. A run recorded as running whose process
    has died is marked failed here (by :func:`core.runs.manager.read_status`), which
    rewrites its status and so changes the marker.
    """
    stamp = []
    for run_dir in _run_dirs(root):
        if _state(run_dir) in ACTIVE:
            with contextlib.suppress(OSError, ValueError):
                read_status(run_dir)
        stamp.append(
            (run_dir.name,)
            + tuple(
                _mtime(run_dir / name)
                for name in (folder.CONFIG, folder.STATUS, folder.METRICS, EVALUATION_FILE)
            )
        )
    return tuple(stamp)


def best_record(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The epoch record with the lowest validation loss (the first of equals)."""
    scored = [r for r in records if r.get("val_loss") is not None]
    return min(scored, key=lambda r: r["val_loss"]) if scored else None


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


def _evaluation_note(info: RunInfo, cached: dict[str, Any] | None) -> str:
    if cached is not None:
        return "error: " + cached["error"] if "error" in cached else "done"
    if info.status in ACTIVE:
        return "after the run ends"
    if best_checkpoint(info.path) is None:
        return "no saved model"
    return "pending"


def run_row(info: RunInfo, n_boot: int = N_BOOT) -> dict[str, Any]:
    """One row of the runs table (see :func:`runs_table`)."""
    record = best_record(folder.read_metrics(info.path)) or {}
    cached = read_evaluation(info.path, n_boot)
    report = (cached or {}).get("report") or {}
    row: dict[str, Any] = {
        "run": info.path.name,
        "modality": info.modality,
        "status": info.status,
        "reason": info.reason,
        "epochs": info.epochs_done,
        "max_epochs": info.max_epochs,
        "best_epoch": record.get("epoch"),
        "best_val_loss": info.best_val_loss,
        "n_dev": record.get("val_n"),
        "n_dev_depressed": record.get("val_n_depressed"),
    }
    intervals = report.get("intervals") or {}
    for name in METRICS:
        row[name] = record.get(f"val_{name}")
        lo, hi = intervals.get(name) or (None, None)
        row[f"{name}_lo"], row[f"{name}_hi"] = lo, hi
    if report:
        base = {k: v["macro_f1"] for k, v in report["baselines"].items()}
    else:
        base = baselines_from_counts(row["n_dev"], row["n_dev_depressed"])
    row["always_depressed_macro_f1"] = base["always_depressed"]
    row["always_not_depressed_macro_f1"] = base["always_not_depressed"]
    row["evaluation"] = _evaluation_note(info, cached)
    row.update({k: v for k, v in _hparam_values(info.config).items() if k not in row})
    row["path"] = str(info.path)
    return row


def runs_table(root: Path, evaluate: bool = True, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Every run under ``root`` as one table row, newest first.

    Parameters
    ----------
    root : pathlib.Path
        Runs root (the folder that holds the run folders).
    evaluate : bool, default True
        Score finished runs whose cached evaluation is missing or stale first (slow:
        loads each model and its dev data). Otherwise only cached evaluations are read.
    n_boot : int
        Bootstrap resamples of the evaluations.

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, ``modality``, ``status``, ``reason``, ``epochs``,
        ``max_epochs``, ``best_epoch``, ``best_val_loss``, ``n_dev``, ``n_dev_depressed``,
        for each of macro_f1, f1_depressed, f1_not_depressed and auroc the value and its
        95 % bootstrap interval (``<name>_lo``, ``<name>_hi``), the baselines'
        macro-F1 (``always_depressed_macro_f1``, ``always_not_depressed_macro_f1``),
        ``evaluation`` (done, pending, an error...), ``seed``, every hyper-parameter
        used by at least one run, ``data_root`` and ``path``. All metrics are per
        participant on the dev split.
    """
    if evaluate:
        for run_dir in stale_evaluations(root, n_boot):
            ensure_evaluation(run_dir, n_boot)
    rows = []
    for info in list_runs(Path(root)):
        with contextlib.suppress(OSError):  # a run deleted while the table is built
            rows.append(run_row(info, n_boot))
    if not rows:
        return pd.DataFrame(columns=list(run_row_columns()))
    table = pd.DataFrame(rows)
    fixed = run_row_columns()
    unused = [h.name for h in hparams.HPARAMS if h.name not in fixed and table[h.name].isna().all()]
    return table.drop(columns=unused)


def run_row_columns() -> list[str]:
    """Column names of an empty runs table (hyper-parameters left out)."""
    names = ["run", "modality", "status", "reason", "epochs", "max_epochs", "best_epoch"]
    names += ["best_val_loss", "n_dev", "n_dev_depressed"]
    for name in METRICS:
        names += [name, f"{name}_lo", f"{name}_hi"]
    names += ["always_depressed_macro_f1", "always_not_depressed_macro_f1", "evaluation"]
    return [*names, "seed", "data_root", "path"]


def table_csv(table: pd.DataFrame) -> bytes:
    """The runs table as UTF-8 CSV (the export of the Runs page)."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")
