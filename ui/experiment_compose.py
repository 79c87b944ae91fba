"""The Experiments page's form: compose a spec from the same widgets as Train.

Fixed hyper-parameters use Train's widgets (:func:`ui.train_settings.hparam_ui`, built
from :mod:`core.hparams`); a varied one takes a list of values or, with the random and
TPE samplers, a range. The form returns plain values; :func:`core.experiment.spec_from_dict`
validates them, so the screen and a TOML spec are checked by the same code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core import hparams
from core.experiment.spec import OBJECTIVES, SAMPLERS, modalities
from ui.train_settings import SECTIONS, hparam_ui

OBJECTIVE_LABELS = {"macro_f1": "macro-F1", "auroc": "AUROC", "val_loss": "validation loss"}
PROTOCOL_LABELS = {
    "dev": "official dev split",
    "cv": "k-fold over train+dev (participant-grouped)",
}
SAMPLER_LABELS = {"grid": "grid (every combination)", "random": "random", "tpe": "TPE"}
LOCAL, CLUSTER = "this machine", "a Dask scheduler"


@dataclass
class Composition:
    """What the form asks for: the spec's keys and where to run it."""

    spec: dict[str, Any]
    workers: int | None = None
    scheduler: str | None = None


def seeds_from_text(text: str) -> list[int] | str:
    """``"0, 1, 2"`` as ``[0, 1, 2]``; the text itself when it is not whole numbers."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        return text


def default_values(h: hparams.HParam, modality: str) -> str:
    """Two values to start a list with: the default and its double (or the low end)."""
    default = h.default_for(modality)
    other = default * 2 if default else (h.high or 1)
    if h.high is not None and other > h.high:
        other = h.low
    if h.kind == "int":
        return f"{int(default)}, {int(other)}"
    return f"{default:g}, {other:g}"


def varied_space(h: hparams.HParam, modality: str, sampler: str) -> list | dict[str, Any]:
    """Widgets for one varied hyper-parameter: its values, or a range; returns the space."""
    key = f"experiments_{modality}_{h.name}"
    if h.kind in ("choice", "bool"):
        choices = [True, False] if h.kind == "bool" else list(h.choices)
        return st.multiselect(
            h.label, choices, default=choices[:2], key=f"{key}_values", help=h.describe()
        )
    ranged = sampler != "grid" and st.toggle(
        f"{h.label}: a range", value=h.log, key=f"{key}_ranged", help="Random and TPE sample it"
    )
    if not ranged:
        text = st.text_input(
            f"{h.label}: values",
            default_values(h, modality),
            key=f"{key}_values",
            help="Comma-separated. " + h.describe(),
        )
        return [v.strip() for v in text.split(",") if v.strip()]
    default = float(h.default_for(modality))
    low_default = max(float(h.bounds()[0]), default / 10) if h.log else float(h.bounds()[0])
    high_default = min(float(h.bounds()[1]), default * 10) if h.log else float(h.bounds()[1])
    left, right, scale = st.columns([2, 2, 1])
    low = left.number_input(
        f"{h.label}: low", value=low_default, format="%g", key=f"{key}_low", help=h.describe()
    )
    high = right.number_input(
        f"{h.label}: high", value=high_default, format="%g", key=f"{key}_high"
    )
    log = scale.toggle("log", value=h.log, key=f"{key}_log")
    if h.kind == "int":
        low, high = int(low), int(high)
    return {"low": low, "high": high, "log": log}


def fixed_ui(table: list[hparams.HParam], modality: str, varied: list[str]) -> dict[str, Any]:
    """Train's widgets for every hyper-parameter not varied; returns those set off default."""
    fixed: dict[str, Any] = {}
    for section, title in SECTIONS.items():
        entries = [h for h in table if h.section == section and h.name not in varied]
        if not entries:
            continue
        with st.expander(f"{title} (fixed)", expanded=False):
            for h in entries:
                value = hparam_ui(h, modality, page="experiments")
                default = h.default_for(modality)
                if (list(value) if h.kind == "multi" else value) != (
                    list(default) if h.kind == "multi" else default
                ):
                    fixed[h.name] = list(value) if h.kind == "multi" else value
    return fixed


def design_ui() -> dict[str, Any]:
    """Name, modality, objective, protocol, seeds, sampler and trials."""
    name = st.text_input(
        "Name", "experiment", key="experiments_name", help="Names the experiment's folder"
    )
    modality = st.segmented_control(
        "Modality", modalities(), default="audio", required=True, key="experiments_modality"
    )
    objective_column, protocol_column, folds_column = st.columns([1, 2, 1])
    objective = objective_column.selectbox(
        "Objective",
        list(OBJECTIVES),
        format_func=OBJECTIVE_LABELS.__getitem__,
        key="experiments_objective",
    )
    protocol = protocol_column.radio(
        "Protocol",
        list(PROTOCOL_LABELS),
        format_func=PROTOCOL_LABELS.get,
        key="experiments_protocol",
    )
    folds = folds_column.number_input(
        "Folds", 2, 20, 3, key="experiments_folds", disabled=protocol != "cv"
    )
    seeds_column, sampler_column, trials_column = st.columns([1, 2, 1])
    seeds = seeds_column.text_input(
        "Seeds", "0, 1", key="experiments_seeds", help="Comma-separated whole numbers"
    )
    sampler = sampler_column.radio(
        "Sampler",
        SAMPLERS,
        format_func=SAMPLER_LABELS.get,
        horizontal=True,
        key="experiments_sampler",
    )
    trials = trials_column.number_input(
        "Trials",
        1,
        1000,
        4,
        key="experiments_trials",
        disabled=sampler == "grid",
        help="Configurations to try (the grid tries every combination)",
    )
    spec: dict[str, Any] = {
        "name": name.strip(),
        "modality": modality,
        "objective": objective,
        "protocol": protocol,
        "seeds": seeds_from_text(seeds),
        "sampler": sampler,
    }
    if protocol == "cv":
        spec["folds"] = int(folds)
    if sampler != "grid":
        spec["trials"] = int(trials)
    return spec


def where_ui() -> tuple[int | None, str | None]:
    """Workers on this machine, or an existing Dask scheduler's address."""
    where = st.radio("Run on", (LOCAL, CLUSTER), horizontal=True, key="experiments_where")
    if where == LOCAL:
        cores = os.cpu_count() or 1
        workers = st.number_input(
            "Workers",
            1,
            cores,
            min(2, cores),
            key="experiments_workers",
            help=f"Runs trained at once; each gets {cores} cores divided by the workers",
        )
        return int(workers), None
    address = st.text_input(
        "Scheduler address",
        "tcp://127.0.0.1:8786",
        key="experiments_scheduler",
        help="Its workers need this environment and a shared filesystem (docs/scale-out.md)",
    )
    return None, address.strip()


def compose_ui() -> Composition:
    """The whole form; returns the spec's keys and where to run it."""
    spec = design_ui()
    table = [h for h in hparams.for_modality(spec["modality"]) if h.kind != "multi"]
    labels = {h.name: h.label for h in table}
    varied = st.multiselect(
        "Vary",
        list(labels),
        default=["hidden_size"] if "hidden_size" in labels else [],
        format_func=labels.__getitem__,
        key=f"experiments_{spec['modality']}_varied",
        help="Each varied hyper-parameter takes a list of values (or a range); the rest "
        "are fixed below, as on Train.",
    )
    spec["search"] = {
        name: varied_space(hparams.by_name(name), spec["modality"], spec["sampler"])
        for name in varied
    }
    spec["fixed"] = fixed_ui(
        hparams.for_modality(spec["modality"]), spec["modality"], list(spec["search"])
    )
    workers, scheduler = where_ui()
    return Composition(spec, workers, scheduler)
