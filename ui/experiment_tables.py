"""Tables and sentences of the Experiments page, from an experiment's status.

Plain functions of plain values (no Streamlit). ``status`` is what
:func:`core.experiment.experiment_status` returns.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation.metrics import BASELINE_NAMES, trivial_baselines
from core.experiment import folder as exp_folder
from core.experiment.status import driver_state
from core.runs import folder

STATE_MARKS = {
    "completed": "✓",
    "early-stopped": "✓",
    "running": "▶",
    "starting": "…",
    "pending": "·",
    "stopped": "■",
    "failed": "✗",
}
"""One character per run state in the state grid."""
GRID_LEGEND = (
    "✓ finished, ▶ training, … starting, · waiting, ■ stopped, ✗ failed (reason in the runs CSV)"
)
OBJECTIVE_LABELS = {"macro_f1": "macro-F1", "auroc": "AUROC", "val_loss": "validation loss"}


def params_text(params: dict[str, Any]) -> str:
    """``"hidden_size=32, lr=0.001"``; ``"(no varied setting)"`` for none."""
    if not params:
        return "(no varied setting)"
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def configuration_name(entry: dict[str, Any]) -> str:
    """``"c001 (hidden_size=64)"``."""
    return f"{entry['id']} ({params_text(entry.get('params') or {})})"


def _fold_label(seed: Any, fold: Any) -> str:
    return f"seed {seed}" if fold is None else f"seed {seed} fold {fold}"


def state_grid(status: dict[str, Any]) -> pd.DataFrame:
    """Configuration x (seed, fold): one mark per run, and how many are done."""
    rows = []
    for entry in status["configurations"]:
        row = {"configuration": entry["id"], "settings": params_text(entry.get("params") or {})}
        for run in entry["runs"]:
            row[_fold_label(run["seed"], run["fold"])] = STATE_MARKS.get(run["state"], "?")
        row["done"] = f"{entry.get('n_done', 0)}/{entry['n_runs']}"
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["configuration", "settings", "done"])


def configurations_frame(status: dict[str, Any]) -> pd.DataFrame:
    """One row per configuration: its settings, runs done and the objective's statistics.

    ``mean`` is the configuration's figure (mean over seeds) and ``ci_low``/``ci_high``
    its interval; ``ensemble_of_seeds`` is a different model's figure: the seeds'
    probabilities averaged.
    """
    rows = []
    for entry in status["configurations"]:
        row: dict[str, Any] = {"configuration": entry["id"], "trial": entry.get("trial")}
        row.update(entry.get("params") or {})
        row.update(
            {
                "objective": entry["objective"],
                "runs": entry["n_runs"],
                "done": entry.get("n_done"),
                "failed": entry.get("n_failed"),
                "mean": entry.get("mean"),
                "sd": entry.get("sd"),
                "ci_low": entry.get("ci_low"),
                "ci_high": entry.get("ci_high"),
                "seeds_scored": len(entry.get("per_seed") or []),
                "participants": entry.get("n"),
                "ensemble_of_seeds": entry.get("ensemble"),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def runs_frame(status: dict[str, Any]) -> pd.DataFrame:
    """One row per run: configuration, settings, seed, fold, state, reason, folder."""
    rows = []
    for entry in status["configurations"]:
        for run in entry["runs"]:
            row: dict[str, Any] = {"run": run.get("name"), "configuration": entry["id"]}
            row.update(entry.get("params") or {})
            row.update({k: run.get(k) for k in ("seed", "fold", "state", "reason", "path")})
            rows.append(row)
    return pd.DataFrame(rows)


def csv_bytes(frame: pd.DataFrame, spec: dict[str, Any]) -> bytes:
    """A table as UTF-8 CSV, the spec it came from in ``#`` lines above the header."""
    buffer = io.StringIO()
    for line in json.dumps(spec, sort_keys=True).splitlines():
        buffer.write(f"# spec: {line}\n")
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _number(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.3f}"


def best_lines(status: dict[str, Any]) -> list[str]:
    """The best configuration so far, with its interval, in a few plain lines."""
    best = status.get("best")
    label = OBJECTIVE_LABELS.get(status["objective"], status["objective"])
    if best is None:
        return [f"No configuration has all its runs finished yet ({label} to be compared)."]
    seeds = len(best.get("per_seed") or [])
    sd = f" (SD {best['sd']:.3f})" if best.get("sd") is not None else ""
    return [
        f"Best so far: {configuration_name(best)}",
        f"{label}: mean over {seeds} seed{'s' if seeds != 1 else ''} {_number(best['mean'])}{sd}, "
        f"95 % interval [{_number(best.get('ci_low'))}, {_number(best.get('ci_high'))}] "
        f"on {best.get('n')} participants",
    ]


def scored_labels(status: dict[str, Any]) -> list[int]:
    """Labels with the counts of the participants the configurations were scored on.

    Enough for the trivial baselines (they depend on the counts only).
    """
    for entry in status["configurations"]:
        if entry.get("n"):
            k = int(entry.get("n_depressed") or 0)
            return [1] * k + [0] * (int(entry["n"]) - k)
    return []


def objective_baselines(objective: str, labels: list[int]) -> dict[str, float]:
    """The trivial baselines of the objective on the experiment's participants.

    Macro-F1: always 'depressed' and always 'not depressed'. AUROC: 0.5, what any
    constant score gets. Validation loss: the cross-entropy of predicting the share of
    depressed participants for everyone (constant 0 or 1 would be infinite).
    """
    if not labels:
        return {}
    if objective == "macro_f1":
        found = trivial_baselines(labels)
        return {BASELINE_NAMES[k]: v["macro_f1"] for k, v in found.items()}
    if objective == "auroc":
        return {"any constant score": 0.5}
    share = float(np.mean(labels))
    if share in (0.0, 1.0):
        return {}
    loss = -(share * math.log(share) + (1 - share) * math.log(1 - share))
    return {"the base rate for everyone": loss}


def promotion_frame(promotion: dict[str, Any]) -> pd.DataFrame:
    """The promoted runs: dev and, labelled as such, test figures per seed with baselines."""
    rows = []
    for run in promotion.get("runs") or []:
        dev, test = run.get("dev") or {}, run.get("test") or {}
        row = {
            "seed": run.get("seed"),
            "state": run.get("state"),
            "dev macro-F1": dev.get("macro_f1"),
            "dev AUROC": dev.get("auroc"),
            "TEST macro-F1": test.get("macro_f1"),
            "TEST AUROC": test.get("auroc"),
        }
        for name, value in (test.get("baselines_macro_f1") or {}).items():
            row[f"TEST macro-F1 of {name}"] = value
        row["test participants"] = test.get("n")
        row["note"] = run.get("test_note") or run.get("reason") or ""
        rows.append(row)
    return pd.DataFrame(rows)


def promotion_lines(promotion: dict[str, Any]) -> list[str]:
    """What the promotion trained on and the configuration's figure on test, in lines."""
    lines = []
    trained = promotion.get("trained_on") or {}
    if trained.get("n") is not None:
        lines.append(
            f"Each seed was retrained on the official training split: {trained['n']} "
            f"participants ({trained['n_depressed']} depressed)."
        )
    elif trained.get("note"):
        lines.append(f"Training participants: {trained['note']}.")
    test = promotion.get("test")
    if test:
        f1, auroc = test["macro_f1"], test["auroc"]
        baselines = ", ".join(
            f"{name} {_number(v)}" for name, v in (test.get("baselines_macro_f1") or {}).items()
        )
        lines.append(
            f"The configuration on test (mean over {test['n_seeds']} seeds, {test['n']} "
            f"participants): macro-F1 {_number(f1['mean'])} [{_number(f1['ci_low'])}, "
            f"{_number(f1['ci_high'])}], AUROC {_number(auroc['mean'])} "
            f"[{_number(auroc['ci_low'])}, {_number(auroc['ci_high'])}]; trivial baselines' "
            f"macro-F1: {baselines}."
        )
        lines += [f"Note: {note}." for note in test.get("notes") or []]
    return lines


def experiment_stamp(exp_dir: str | Path) -> tuple:
    """A cheap change marker for an experiment's status (use it as a cache key).

    The driver's state (judged against its process) and the modification times of the
    driver's files and of every run's status and evaluation.
    """
    path = Path(exp_dir)
    marks: list[Any] = [driver_state(path)]
    for name in (exp_folder.CONFIGURATIONS, exp_folder.OUTCOMES, exp_folder.DRIVER):
        marks.append(_mtime(path / name))
    promotion = path / exp_folder.PROMOTION
    marks.append(_mtime(promotion / exp_folder.PROMOTION_FILE))
    for base in (path / exp_folder.RUNS, promotion):
        with contextlib.suppress(OSError), os.scandir(base) as entries:
            for entry in entries:
                if entry.is_dir():
                    run = Path(entry.path)
                    marks.append(
                        (entry.name, _mtime(run / folder.STATUS), _mtime(run / folder.EVALUATION))
                    )
    return tuple(marks)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
