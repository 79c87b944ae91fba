"""What each run file must hold, checked on every read: one bad folder never breaks a page.

A run folder is written by this program, but it sits on disk where anything can happen to
it: a hand edit, a copy cut short, a file from another version. Every reader of a run
file (:mod:`core.runs.status`, :mod:`core.runs_table`) checks what it read with one of
the functions here, and a folder whose files do not pass is listed as *unreadable* with
the reason, instead of raising in the middle of a page. Each check raises
:class:`RunFileError`, whose message names the file, the field and what was expected::

    config.json: training.max_epochs is 'lots', expected a whole number

The checks are on types and shapes only (a number where a number belongs), not on
ranges: a run trained with a value a later version no longer offers is still a run.
Fields a check does not know are left alone, so a newer writer's extra field never makes
an older reader refuse a folder.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import Any

from core import hparams
from core.runs.state import RunState


class RunFileError(ValueError):
    """A run file that cannot be read as what it should hold; the message names it.

    Parameters
    ----------
    file : str
        The file's name (``config.json``, ``metrics.jsonl line 3``).
    problem : str
        What is wrong, in words.
    """

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(_optional(_is_number), value))


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list | tuple) and all(map(check, value))


NUMBER = ("a number", _optional(_is_number))
WHOLE = ("a whole number", _optional(_is_int))
TEXT = ("text", _optional(lambda value: isinstance(value, str)))
FLAG = ("true or false", _optional(lambda value: isinstance(value, bool)))
SECTION = ("an object", _optional(lambda value: isinstance(value, dict)))
MATRIX = ("a list of rows", _optional(_list_of(_list_of(_is_number))))


_MISSING = object()


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def check_fields(file: str, payload: Any, fields: dict[str, tuple[str, Callable]]) -> dict:
    """Check the fields of one JSON object; return it unchanged.

    Parameters
    ----------
    file : str
        How errors name the file.
    payload : Any
        What was read.
    fields : dict
        Dotted field name (``training.max_epochs``) to ``(what it should be, check)``;
        a field that is absent passes.

    Returns
    -------
    dict
        ``payload``.

    Raises
    ------
    RunFileError
        ``payload`` is not an object, or a field fails its check.
    """
    if not isinstance(payload, dict):
        raise RunFileError(file, f"holds {type(payload).__name__}, expected a JSON object")
    for name, (expected, check) in fields.items():
        value: Any = payload
        for part in name.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING and check(None):
            continue
        if value is _MISSING or not check(value):
            shown = "missing" if value is _MISSING else f"{_show(value)}"
            raise RunFileError(file, f"{name} is {shown}, expected {expected}")
    return payload


def _hparam_field(h: hparams.HParam) -> tuple[str, Callable]:
    """The type check of one hyper-parameter, by its kind (ranges are not checked)."""
    if h.kind == "int":
        return WHOLE
    if h.kind == "float":
        return NUMBER
    if h.kind == "bool":
        return FLAG
    if h.kind == "multi":
        return ("a list of names", _optional(_list_of(lambda value: isinstance(value, str))))
    kinds = tuple({type(choice) for choice in h.choices}) or (str,)
    return (f"one of {list(h.choices)}", _optional(lambda value: isinstance(value, kinds)))


CONFIG_FIELDS: dict[str, tuple[str, Callable]] = {
    "modality": ("the name of a modality", lambda value: isinstance(value, str) and value != ""),
    "version": WHOLE,
    "seed": WHOLE,
    "data": SECTION,
    "data.root": TEXT,
    "data.assignment": SECTION,
    "sources": SECTION,
    **{section: SECTION for section in ("model", "training", "features", "windows", "text")},
    **{f"{h.section}.{h.name}": _hparam_field(h) for h in hparams.HPARAMS},
}
"""``config.json``: a modality, and every hyper-parameter of its own type."""

STATUS_FIELDS: dict[str, tuple[str, Callable]] = {
    "state": (f"one of {[str(s) for s in RunState]}", lambda value: value in set(RunState)),
    "reason": TEXT,
    "heartbeat": NUMBER,
    "started": ("seconds since the epoch (a number)", NUMBER[1]),
    "proc_start": NUMBER,
    "pid": WHOLE,
    "owned": FLAG,
    "epoch": WHOLE,
    "max_epochs": WHOLE,
    "best_val_loss": NUMBER,
    "threads": WHOLE,
}
"""``status.json``: a known state; times, counts and losses as numbers."""

METRIC_FIELDS: dict[str, tuple[str, Callable]] = {
    "epoch": ("a whole number from 1", lambda value: _is_int(value) and value >= 1),
    **{
        name: NUMBER
        for name in ("train_loss", "val_loss", "lr", "elapsed_s", "best_val_loss", "val_auroc")
    },
    **{f"val_{name}": NUMBER for name in ("f1_depressed", "f1_not_depressed", "macro_f1")},
    **{f"val_{name}": NUMBER for name in ("precision", "recall", "balanced_accuracy")},
    **{name: WHOLE for name in ("val_n", "val_n_depressed", "best_epoch")},
    "epochs_without_improvement": WHOLE,
    "improved": FLAG,
    "val_confusion_matrix": MATRIX,
}
"""One record of ``metrics.jsonl``: its epoch, and every loss and metric as a number."""

REPORT_FIELDS: dict[str, tuple[str, Callable]] = {
    "metrics": ("an object", lambda value: isinstance(value, dict)),
    "intervals": ("an object", lambda value: isinstance(value, dict)),
    "baselines": ("an object", lambda value: isinstance(value, dict)),
    "participants": ("a list", _optional(lambda value: isinstance(value, list))),
    "metrics.n": WHOLE,
    "metrics.n_depressed": WHOLE,
    "metrics.confusion_matrix": MATRIX,
    **{f"metrics.{name}": NUMBER for name in ("macro_f1", "f1_depressed", "auroc")},
    "metrics.f1_not_depressed": NUMBER,
    **{
        f"intervals.{name}": ("a [low, high] pair", _optional(_is_pair))
        for name in ("macro_f1", "f1_depressed", "f1_not_depressed", "auroc")
    },
    **{
        f"baselines.{name}": ("an object", lambda value: isinstance(value, dict))
        for name in ("always_depressed", "always_not_depressed")
    },
    **{
        f"baselines.{name}.macro_f1": NUMBER
        for name in ("always_depressed", "always_not_depressed")
    },
}
"""One split's report in ``evaluation.json``: metrics, intervals and both baselines."""

PARTICIPANT_FIELDS: dict[str, tuple[str, Callable]] = {
    "id": ("a participant ID", _is_int),
    "label": ("0 or 1", _optional(lambda value: value in (0, 1) and not isinstance(value, bool))),
    "prob": NUMBER,
}


def check_config(config: Any, file: str = "config.json") -> dict[str, Any]:
    """``config.json`` as read; raise :class:`RunFileError` naming the field that is wrong."""
    return check_fields(file, config, CONFIG_FIELDS)


def check_status(status: Any, file: str = "status.json") -> dict[str, Any]:
    """``status.json`` as read; raise :class:`RunFileError` naming the field that is wrong."""
    return check_fields(file, status, STATUS_FIELDS)


def check_record(record: Any, file: str = "metrics.jsonl") -> dict[str, Any]:
    """One ``metrics.jsonl`` record; raise :class:`RunFileError` naming the field."""
    return check_fields(file, record, METRIC_FIELDS)


def check_evaluation(saved: Any, file: str = "evaluation.json") -> dict[str, Any]:
    """``evaluation.json`` as read: each split a report, ``no_labels`` or an ``error``.

    Raises
    ------
    RunFileError
        Naming the split and field, for example ``evaluation.json: splits.dev.report:
        baselines is None, expected an object``.
    """
    splits = check_fields(file, saved, {"splits": ("an object", lambda v: isinstance(v, dict))})
    for split, entry in splits["splits"].items():
        where = f"{file}: splits.{split}"
        entry = check_fields(where, entry, {"no_labels": TEXT, "error": TEXT})
        if "report" not in entry:
            if "no_labels" not in entry and "error" not in entry:
                raise RunFileError(where, "holds no report, no_labels or error")
            continue
        report = check_fields(f"{where}.report", entry["report"], REPORT_FIELDS)
        if "late_fusion" in report:
            late = {k: v for k, v in REPORT_FIELDS.items() if k.split(".")[0] != "baselines"}
            check_fields(f"{where}.report.late_fusion", report["late_fusion"], late)
        for i, participant in enumerate(report.get("participants") or []):
            check_fields(f"{where}.report.participants[{i}]", participant, PARTICIPANT_FIELDS)
    return saved
