"""Report page: the model card of a run, a fusion with its sources, or an experiment.

Pick a run (or an experiment: its best configuration's pooled results) and read its card:
intended use, data, model and hyper-parameters, training curves, participant-level
results with intervals and baselines, subgroups, calibration, the shortcut audit, the top
explanations and known limitations. The same card downloads as one self-contained HTML
file that opens offline. The best ordinary run is offered first, and a card is built
(tens of seconds) only when asked for with the button. The text audit's speaker variants
are trained only when asked.
"""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.report import Options
from core.report.calibration import METHODS
from ui.common import page_data_root, runs_root
from ui.report_cache import report_card, report_stamp, report_targets
from ui.report_views import show_card

TARGET = "report_target"
CALIBRATION = "report_calibration"
TRAIN_AUDIT = "report_train_audit"
BUILT = "report_built"  # session state: the (path, options) whose card was asked for


def target_ui() -> str | None:
    """Pick a run or experiment; None (with a message) when there is none."""
    targets = report_targets(runs_root(), page_data_root())
    if not targets:
        st.info("No run with a saved model yet: train one on the Train page.")
        return None
    return st.selectbox("Run or experiment", list(targets), format_func=targets.get, key=TARGET)


def options_ui() -> Options:
    """The calibration shown and whether to train the audit's missing variants."""
    left, right = st.columns(2)
    choices = [*METHODS, "none"]
    method = left.radio(
        "Calibration",
        choices,
        horizontal=True,
        key=CALIBRATION,
        help="fitted only on "
        "training (or out-of-fold) predictions, never on the split it is judged on",
    )
    train = right.checkbox(
        "Train the shortcut audit's missing text variants",
        key=TRAIN_AUDIT,
        help="interviewer-only and both-speaker runs with the same settings, each about as "
        "long as the run's own training; trained once, kept beside the run",
    )
    return Options(calibration=None if method == "none" else method, train_audit=train)


st.title("Report")
st.caption(
    "Research software, not a diagnostic device. The model card below is also a "
    "download: one HTML file that opens offline in any browser."
)
path = target_ui()
if path is None:
    st.stop()
options = options_ui()
if st.session_state.get(BUILT) != (path, options):
    if not st.button("Build the model card", type="primary", key="report_build"):
        st.info(
            "Building a card takes tens of seconds (subgroups, calibration, the shortcut "
            "audit and explanations): choose the run and options above, then press the button."
        )
        st.stop()
    st.session_state[BUILT] = (path, options)
try:
    with st.spinner("Building the report (subgroups, calibration, audit)..."):
        card, page = report_card(path, options, report_stamp(path))
except (UserError, ValueError, FileNotFoundError) as error:
    st.error(f"No report for this choice: {error}")
    st.stop()
st.download_button(
    "Download the model card (HTML)",
    data=page,
    file_name=f"{card.title.split()[-1]}-model-card.html",
    mime="text/html",
    key="report_download",
)
st.caption(f"{card.subtitle}. Built in {card.build_seconds:.1f} s.")
show_card(card)
