"""The Experiments page's view of one experiment: grid, best, charts, controls, downloads.

Each ``*_ui`` function lays out one part from an experiment's status (what
:func:`core.experiment.experiment_status` returns); the tables and figures come from
:mod:`ui.experiment_tables` and :mod:`ui.experiment_figures`. Names and settings come
from folders, so they are shown as text or in tables, never as Markdown.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import UserError
from core.experiment import folder as exp_folder
from core.experiment import promote_experiment, resume_experiment, stop_experiment
from core.runs import folder
from ui.common import MISSING
from ui.experiment_compare import configurations_compare_ui
from ui.experiment_figures import objective_chart, parallel_coordinates
from ui.experiment_tables import (
    GRID_LEGEND,
    OBJECTIVE_LABELS,
    best_lines,
    configuration_name,
    configurations_frame,
    csv_bytes,
    objective_baselines,
    promotion_frame,
    promotion_lines,
    runs_frame,
    scored_labels,
    state_grid,
)

PROMOTION_RECORD = f"{exp_folder.PROMOTION}/{exp_folder.PROMOTION_FILE}"
MESSAGE = "experiments_message"
LAUNCHED = "experiments_launched"
"""``(path, "driver" or "promotion", time)`` of the last background process this session started."""
LAUNCH_WAIT_S = 60.0


def remember_launch(path: Path, what: str, started: float) -> None:
    """Note that a driver or promotion was just started, so the page waits for it."""
    st.session_state[LAUNCHED] = (str(path), what, started)


def launching(path: str) -> str | None:
    """What this session started for ``path`` that has not begun yet: driver, promotion."""
    record = st.session_state.get(LAUNCHED)
    if not record or record[0] != str(path) or time.time() - record[2] > LAUNCH_WAIT_S:
        return None
    name = exp_folder.DRIVER if record[1] == "driver" else PROMOTION_RECORD
    started = (folder.read_json(Path(path) / name) or {}).get("started") or 0.0
    return record[1] if started < record[2] else None


def active(status: dict[str, Any]) -> bool:
    """Whether the experiment or its promotion is running (the view polls then)."""
    promotion = status.get("promotion") or {}
    return status["state"] == "running" or promotion.get("state") == "running"


def summary_ui(status: dict[str, Any]) -> None:
    """State, progress and the spec in one line, and why it stopped."""
    spec = status["spec"]
    folds = f" x {spec['folds']} folds" if spec.get("folds") else ""
    done, total = status["done"], status.get("n_planned", status["n_runs"])
    seeds = f"{len(spec['seeds'])} seed{'s' if len(spec['seeds']) > 1 else ''}"
    st.text(
        f"{status['name']}: {status['state']}; {done} of {total} runs finished "
        f"({spec['trials']} configurations x {seeds}{folds}); "
        f"objective {OBJECTIVE_LABELS.get(status['objective'], status['objective'])}, "
        f"protocol {spec['protocol']}, sampler {spec['sampler']}"
    )
    if total:
        st.progress(done / total)
    if status.get("reason"):
        st.text(f"Reason: {status['reason']}")


def grid_ui(status: dict[str, Any]) -> None:
    """Every run's state, configuration x seed x fold."""
    st.dataframe(state_grid(status), hide_index=True, placeholder=MISSING, key="experiments_grid")
    st.caption(GRID_LEGEND)


def charts_ui(status: dict[str, Any]) -> None:
    """Best so far, parallel coordinates and the objective per configuration."""
    for line in best_lines(status):
        st.text(line)
    scored = [c for c in status["configurations"] if c.get("mean") is not None]
    if not scored:
        st.caption("The charts appear when a configuration has a seed with all runs finished.")
        return
    left, right = st.columns(2)
    baselines = objective_baselines(status["objective"], scored_labels(status))
    left.plotly_chart(
        objective_chart(status["configurations"], status["objective"], baselines),
        key="experiments_objective_chart",
    )
    left.caption(
        "Diamond: mean over seeds, each seed scored on the same participants; bar: its 95 % "
        "interval, each bootstrap resample drawing the same participants for every seed; "
        "grey dots: single seeds; dashed: trivial baselines on the same participants."
    )
    if any(c.get("params") for c in scored):
        right.plotly_chart(
            parallel_coordinates(status["configurations"], status["objective"]),
            key="experiments_parallel",
        )


def controls_ui(status: dict[str, Any]) -> None:
    """Stop a running experiment, or resume one that is not."""
    path = Path(status["path"])
    if launching(status["path"]) == "driver":
        st.text("Starting the experiment's driver…")
        return
    if status["state"] == "running":
        if st.button("Stop", key="experiments_stop"):
            with st.spinner("Stopping: runs keep their last epoch and exit"):
                stop_experiment(path)
            st.session_state[MESSAGE] = f"Stopped {status['name']}."
            st.rerun(scope="app")
    elif (
        status["done"] < status.get("n_planned", status["n_runs"]) or status["state"] != "completed"
    ):
        if st.button("Resume", key="experiments_resume"):
            try:
                remember_launch(path, "driver", time.time())
                resume_experiment(path)
            except (UserError, OSError) as error:
                st.error("Cannot resume:")
                st.text(str(error))
            else:
                st.session_state[MESSAGE] = f"Resumed {status['name']}."
                st.rerun(scope="app")


def promotion_ui(status: dict[str, Any]) -> None:
    """Promote the best configuration once the search has ended; then what it did."""
    promotion, best = status.get("promotion"), status.get("best")
    if launching(status["path"]) == "promotion":
        st.text("Starting the promotion…")
        return
    looks_ui(status)
    if promotion is None:
        if best is None or status.get("test_looks"):
            return
        st.text(f"Best configuration: {configuration_name(best)}")
        if status["state"] != "running" and status["done"] < status.get("n_planned", 0):
            st.caption(
                f"The search ended after {status['done']} of {status['n_planned']} runs: a "
                "promotion now is the experiment's only look at the test split, and it "
                "records that the search was cut short."
            )
        if st.button(
            "Promote: retrain on the official training split and score the test split",
            key="experiments_promote",
            disabled=status["state"] == "running",
            help="Once per experiment, when its search has ended: each seed is retrained on "
            "the official training split and the test split is scored (when its labels are "
            "present).",
        ):
            try:
                remember_launch(Path(status["path"]), "promotion", time.time())
                promote_experiment(Path(status["path"]))
            except (UserError, OSError) as error:
                st.error("Cannot promote:")
                st.text(str(error))
            else:
                st.session_state[MESSAGE] = "Promotion started."
                st.rerun(scope="app")
        return
    st.text(
        f"Promoted {promotion.get('configuration')} "
        f"({promotion.get('state')}{': ' + promotion['reason'] if promotion.get('reason') else ''})"
    )
    if promotion.get("cut_short"):
        st.warning(f"The {promotion['cut_short']}.")
    objective = promotion.get("objective") or {}
    if objective.get("mean") is not None:
        name = str(objective.get("objective"))
        label = OBJECTIVE_LABELS.get(name, name)
        protocol = "cross-validated" if status["spec"]["protocol"] == "cv" else "dev"
        st.text(
            f"Its {protocol} {label} in the experiment: mean {objective['mean']:.3f}, 95 % "
            f"interval [{objective.get('ci_low') or float('nan'):.3f}, "
            f"{objective.get('ci_high') or float('nan'):.3f}]"
        )
    for line in promotion_lines(promotion):
        st.text(line)
    frame = promotion_frame(promotion)
    if not frame.empty:
        st.dataframe(frame, hide_index=True, placeholder=MISSING, key="experiments_promotion")
        st.caption(
            "TEST columns: the held-out test split, scored once, after the experiment chose "
            "this configuration, beside the trivial baselines on the same participants; dev "
            "columns: the official dev split (it picked each run's best epoch, so it is "
            "optimistic)."
        )


def looks_ui(status: dict[str, Any]) -> None:
    """Every look at the test split so far (a warning when more than one configuration)."""
    looks = status.get("test_looks") or []
    if not looks:
        return
    configurations = sorted({str(look["configuration"]) for look in looks})
    shown = ", ".join(
        f"{look['run']} (macro-F1 {look['macro_f1']:.3f})"
        if look.get("macro_f1") is not None
        else look["run"]
        for look in looks
    )
    text = f"The test split has been scored by {len(looks)} promoted run(s): {shown}."
    if len(configurations) > 1:
        st.warning(
            f"{text} More than one configuration ({', '.join(configurations)}) was scored on "
            "test: the test figures are no longer an unbiased estimate."
        )
    else:
        st.text(text)


def downloads_ui(status: dict[str, Any]) -> None:
    """Per-run and per-configuration results as CSV (the spec above the header), the spec."""
    spec = status["spec"]
    name = status["name"]
    left, middle, right = st.columns(3)
    left.download_button(
        "Runs as CSV",
        csv_bytes(runs_frame(status), spec),
        file_name=f"{name}-runs.csv",
        mime="text/csv",
        on_click="ignore",
        key="experiments_runs_csv",
    )
    middle.download_button(
        "Configurations as CSV",
        csv_bytes(configurations_frame(status), spec),
        file_name=f"{name}-configurations.csv",
        mime="text/csv",
        on_click="ignore",
        key="experiments_configurations_csv",
    )
    right.download_button(
        "Spec (JSON)",
        json.dumps(spec, indent=2),
        file_name=f"{name}-spec.json",
        mime="application/json",
        on_click="ignore",
        key="experiments_spec_json",
    )


def compare_configurations_ui(status: dict[str, Any]) -> None:
    """Compare two complete configurations on their mean over seeds."""
    names = {c["id"]: configuration_name(c) for c in status["configurations"] if c["complete"]}
    if len(names) < 2:
        st.caption("Two configurations with all their runs finished can be compared.")
        return
    configurations_compare_ui(status, names)
