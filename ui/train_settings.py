"""The Train page's settings: hyper-parameter widgets, fusion source runs, the resume form.

Every hyper-parameter widget is built from its entry in :mod:`core.hparams` (label,
help, range or choices, default), so the page and the command line agree. Each function
reads widgets and returns plain values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core import hparams
from core.errors import UserError
from core.kinds import KINDS
from core.kinds.choice import on_official_split
from core.kinds.corpus import corpus_key, run_corpus_key
from core.runs.folder import run_name
from core.runs.state import FINISHED, SUCCEEDED
from core.runs.status import RunInfo
from ui import charts
from ui.train_views import STATE_BADGES

BEST_RUN = "best"  # fusion source: let the run pick the best finished one
SECTIONS = {
    "model": "Model",
    "training": "Training",
    "features": "Features",
    "windows": "Windows",
    "text": "Text model",
}
OPEN_SECTIONS = ("model", "training", "text")


def log_grid(low: float, high: float, default: float) -> list[float]:
    """Log-spaced slider stops (1, 2, 3 and 5 per decade) from ``low`` to ``high``."""
    stops = {default, low, high}
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        stops.update(float(f"{m}e{exponent}") for m in (1, 2, 3, 5))
    return sorted(v for v in stops if low <= v <= high)


def decimals(step: float) -> int:
    """Decimal places that show a slider step exactly."""
    return max(0, -math.floor(math.log10(step)))


def settings_problem(modality: str, values: dict[str, Any]) -> str | None:
    """Why these settings cannot start a run, or None when they can."""
    for h in hparams.for_modality(modality):
        if h.kind == "multi" and not values.get(h.name):
            return f"choose at least one of the {h.label.lower()}."
    try:
        hparams.resolve(modality, values)
    except UserError as error:
        return str(error)
    return None


@st.cache_resource(show_spinner=False)
def auto_device() -> str:
    """The device ``auto`` resolves to on this machine."""
    from core.training.device import choose_device

    return str(choose_device("auto"))


def _number_ui(h: hparams.HParam, default: float, key: str) -> float:
    """A slider for a number: log-spaced stops, whole numbers, or a fixed step.

    A log slider also stops at the value the form holds already (a run's setting that
    is not one of the usual stops, :func:`restore_form`).
    """
    lowest, highest = h.bounds()
    if h.log:
        stops = log_grid(lowest, highest, default)
        held = st.session_state.get(key)
        if isinstance(held, int | float) and lowest <= held <= highest and held not in stops:
            stops = sorted([*stops, float(held)])
        return st.select_slider(
            h.label,
            stops,
            value=default,
            format_func=charts.lr_label,
            key=key,
            help=h.describe(),
        )
    if h.kind == "int":
        low, high, whole_step = int(lowest), int(highest), int(h.step or 1)
        return st.slider(h.label, low, high, int(default), whole_step, key=key, help=h.describe())
    step = float(h.step or (highest - lowest) / 100)
    return st.slider(
        h.label,
        float(lowest),
        float(highest),
        float(default),
        step,
        format=f"%.{decimals(step)}f",
        key=key,
        help=h.describe(),
    )


def widget_key(name: str, modality: str, page: str = "train") -> str:
    """The session-state key of a hyper-parameter's widget: ``train_audio_hidden_size``."""
    return f"{page}_{modality}_{name}"


def hparam_ui(h: hparams.HParam, modality: str, page: str = "train") -> Any:
    """One widget for one hyper-parameter, built from its table entry; returns its value.

    ``page`` starts the widget's key, so each page keeps its own values.
    """
    key = widget_key(h.name, modality, page)
    default = h.default_for(modality)
    if h.kind == "bool":
        return st.toggle(h.label, value=default, key=key, help=h.describe())
    if h.kind == "choice":
        hint = f"; on this machine auto means {auto_device()}" if h.name == "device" else ""
        return st.radio(
            h.label,
            h.choices,
            h.choices.index(default),
            key=key,
            help=h.describe() + hint,
            horizontal=True,
        )
    if h.kind == "multi":
        return st.multiselect(h.label, h.choices, default=list(default), key=key, help=h.describe())
    return _number_ui(h, default, key)


def hparams_ui(modality: str) -> dict[str, Any]:
    """Every hyper-parameter of ``modality``, grouped by configuration section."""
    values: dict[str, Any] = {}
    table = hparams.for_modality(modality)
    for section, title in SECTIONS.items():
        entries = [h for h in table if h.section == section]
        if not entries:
            continue
        with st.expander(title, expanded=section in OPEN_SECTIONS):
            for h in entries:
                values[h.name] = hparam_ui(h, modality)
    return values


def resumable(run: RunInfo) -> bool:
    """Whether a listed run can be resumed: it has ended and its kind trains in epochs."""
    kind = KINDS.get(run.modality)
    return kind is not None and kind.has_epochs and run.status in FINISHED


def sources_ui(runs: list[RunInfo], modalities: tuple[str, ...], corpus_root: str) -> dict:
    """For each source modality, a finished run on the same corpus, or "best" (None).

    Parameters
    ----------
    runs : list of RunInfo
        Every run listed.
    modalities : tuple of str
        The kinds of run the new run is trained on (its kind's ``sources``).
    corpus_root : str
        The corpus the new run trains on.
    """
    st.markdown("**Source runs** (embeddings and text probabilities the fusion combines)")
    sources: dict[str, str | None] = {}
    corpus = corpus_key(corpus_root)
    for modality in modalities:
        finished = [
            r
            for r in runs
            if r.modality == modality
            and r.status in SUCCEEDED
            and run_corpus_key(r.config) == corpus
            and on_official_split(r.config)
        ]
        losses = {str(r.path): r.best_val_loss for r in finished}
        key = f"train_fusion_{modality}"
        if st.session_state.get(key, BEST_RUN) not in (BEST_RUN, *losses):
            st.session_state[key] = BEST_RUN  # a restored run that is no longer offered
        choice = st.selectbox(
            f"{modality.capitalize()} run",
            [BEST_RUN, *losses],
            format_func=lambda p: "Best finished run" if p == BEST_RUN else run_name(Path(p)),
            key=key,
            help="Best = the finished run on this data with the lowest validation loss; "
            "when there is none, the fusion run first trains one with default settings.",
        )
        if choice != BEST_RUN and losses[choice] is not None:
            st.caption(f"best validation loss {losses[choice]:.4f}")
        sources[modality] = None if choice == BEST_RUN else choice
    return sources


MODALITY, SEED = "train_modality", "train_seed"
"""The session-state keys of the form's modality and seed widgets."""
FORM_MEMORY = "train_form_memory"
"""Session state: the form's widget values at its last drawing (see :func:`restore_form`)."""


def form_state(config: dict[str, Any]) -> dict[str, Any]:
    """The New run form's widget values that show a run's settings.

    Parameters
    ----------
    config : dict
        A run's ``config.json``.

    Returns
    -------
    dict
        Session-state key to value: the modality, each hyper-parameter the configuration
        holds (a value the form cannot show is left out: that widget keeps its default),
        the seed, and a fusion's source runs. Empty for an unknown modality.
    """
    modality = config.get("modality")
    if modality not in hparams.modalities():
        return {}
    state: dict[str, Any] = {MODALITY: modality}
    for h in hparams.for_modality(modality):
        value = (config.get(h.section) or {}).get(h.name)
        if value is None:
            continue
        try:
            value = h.parse(value)
        except ValueError:  # a hand-edited or older configuration
            continue
        state[widget_key(h.name, modality)] = list(value) if h.kind == "multi" else value
    seed = config.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**31:
        state[SEED] = seed
    for source, run_dir in (config.get("sources") or {}).items():
        state[f"train_fusion_{source}"] = run_dir or BEST_RUN
    return state


def restore_form(config: dict[str, Any] | None) -> None:
    """Fill the New run form before its widgets are drawn, when it is not on screen yet.

    A new browser session (a reload, another tab, a restarted server) starts with the
    settings of ``config``, the run the page shows; a session that comes back to the
    page gets the values its form had when it left (Streamlit forgets the values of
    widgets that a page run does not draw). The form is left alone while it is on
    screen, so a user's changes stay.

    Parameters
    ----------
    config : dict or None
        The configuration of the run on screen; None when there is none (defaults).
    """
    if MODALITY in st.session_state:
        return
    remembered = st.session_state.get(FORM_MEMORY)
    values = remembered if remembered is not None else form_state(config or {})
    for key, value in values.items():
        st.session_state[key] = value


def remember_form(modality: str) -> None:
    """Keep the form's current values (modality, seed, its widgets) for :func:`restore_form`."""
    prefixes = (f"train_{modality}_", "train_fusion_")
    st.session_state[FORM_MEMORY] = {
        key: st.session_state[key]
        for key in list(st.session_state)
        if key in (MODALITY, SEED) or str(key).startswith(prefixes)
    }


@dataclass
class ResumeRequest:
    """What the Resume tab asks for: which run, how many more epochs, which patience."""

    run_dir: Path
    more_epochs: int
    patience: int


def _offer_once(shown: str | None, candidates: dict[str, RunInfo]) -> None:
    """Preselect the run on screen in the resume box, once per run shown."""
    if shown in candidates and st.session_state.get("train_resume_follows") != shown:
        st.session_state["train_resume_run"] = shown
        st.session_state["train_resume_follows"] = shown


def resume_ui(runs: list[RunInfo], shown: str | None) -> ResumeRequest | None:
    """Pick a finished run with epochs, more epochs and a patience; None if there is none.

    ``shown`` is the run on screen, offered first.
    """
    candidates = {str(r.path): r for r in runs if resumable(r)}
    if not candidates:
        kinds = ", ".join(name for name, kind in KINDS.items() if kind.has_epochs)
        st.info(f"No stopped or finished run to resume yet (runs with epochs: {kinds}).")
        return None
    _offer_once(shown, candidates)
    chosen = st.selectbox(
        "Run to resume",
        list(candidates),
        format_func=lambda p: run_name(Path(p)),
        key="train_resume_run",
    )
    info = candidates[chosen]
    st.caption(
        f"{STATE_BADGES[info.status]} after {info.epochs_done} of {info.max_epochs} epochs"
        + (f": {info.reason}" if info.reason else "")
    )
    cap = int(hparams.by_name("max_epochs").bounds()[1])
    left = (info.max_epochs or 0) - info.epochs_done
    more = st.number_input(
        "More epochs",
        min_value=1,
        max_value=cap,
        value=left if 0 < left <= cap else 10,
        key=f"train_resume_more_{Path(chosen).name}",
        help=f"Epochs to train beyond the {info.epochs_done} done, from the last "
        f"checkpoint (1 to {cap} more, however long the run already is).",
    )
    patience_h = hparams.by_name("patience")
    low, high = (int(bound) for bound in patience_h.bounds())
    current = int(info.config.get("training", {}).get("patience") or low)
    patience = st.number_input(
        patience_h.label,
        min_value=low,
        max_value=high,
        value=min(max(current, low), high),
        key=f"train_resume_patience_{Path(chosen).name}",
        help=patience_h.describe(),
    )
    if info.status == "early-stopped":
        st.caption(
            "Early stopping starts afresh: its counter goes back to 0, so the run trains "
            f"the {more} epochs unless it again goes {patience} epochs without improving."
        )
    return ResumeRequest(Path(chosen), int(more), int(patience))
