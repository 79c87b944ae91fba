"""Every hyper-parameter a run accepts, in one table.

The command line (``python -m core.train``) builds its options from this table and the
Train page builds its sliders from it, so the two can never disagree about names, ranges
or defaults. Each entry belongs to one section of the run configuration (``model``,
``training``, ``features``, ``windows`` or ``text``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MODALITIES = ("text", "audio", "face", "fusion")
NEURAL = ("audio", "face", "fusion")


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter.

    Attributes
    ----------
    name : str
        Key in its configuration section, and ``--name-with-dashes`` on the command line.
    section : str
        ``model``, ``training``, ``features``, ``windows`` or ``text``.
    default : Any
        Default value; a dict gives per-modality defaults.
    modalities : tuple of str
        Modalities the parameter applies to.
    kind : str
        ``int``, ``float``, ``choice``, ``bool`` or ``multi`` (several choices).
    low, high, step : float or None
        Slider range.
    log : bool
        Whether a slider should move on a log scale.
    choices : tuple
        Allowed values for ``choice`` and ``multi``.
    help : str
        One line for the command line and the slider's tooltip.
    """

    name: str
    section: str
    default: Any
    modalities: tuple[str, ...]
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()
    help: str = ""

    def default_for(self, modality: str) -> Any:
        """The default value for one modality."""
        if isinstance(self.default, dict):
            return self.default[modality]
        return self.default

    def parse(self, value: Any, label: str | None = None) -> Any:
        """Convert and validate a value from the command line or a widget.

        Parameters
        ----------
        value : Any
            The value, or its text as typed on the command line.
        label : str, optional
            How errors name the parameter (``--hidden-size`` on the command line);
            default its name.

        Raises
        ------
        ValueError
            The value has the wrong type, is not finite, or lies outside the allowed
            range or choices; the message names the parameter, the value and what is
            allowed.
        """
        label = label or self.name
        if self.kind == "multi":
            items = value.split(",") if isinstance(value, str) else list(value)
            chosen = tuple(str(v).strip() for v in items if str(v).strip())
            unknown = [v for v in chosen if v not in self.choices]
            if unknown or not chosen:
                raise ValueError(f"{label} {value!r}: {self.allowed()}")
            return chosen
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{label} {value!r}: {self.allowed()}")
            return value
        if self.kind == "bool":
            return _parse_bool(value, label)
        number = _parse_number(value, self.kind, label, self.allowed())
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise ValueError(f"{label} {value}: outside the {self.allowed()}")
        return number

    def allowed(self) -> str:
        """What values are allowed, in words: ``allowed range 8 to 256``, or the choices."""
        if self.kind == "bool":
            return "allowed: true or false"
        if self.kind == "choice":
            return "allowed: " + ", ".join(map(str, self.choices))
        if self.kind == "multi":
            return "allowed: one or more of " + ", ".join(self.choices) + ", comma-separated"
        scale = ", log scale" if self.log else ""
        return f"allowed range {_number(self.low)} to {_number(self.high)}{scale}"

    def describe(self) -> str:
        """One line for ``--help`` and tooltips: what it does, its default(s), what is allowed.

        Returns
        -------
        str
            For example ``LSTM hidden units (default: audio 64, face 64, fusion 16;
            allowed range 8 to 256)``.
        """
        if isinstance(self.default, dict):
            shown = ", ".join(f"{m} {_text(v)}" for m, v in self.default.items())
        else:
            shown = _text(self.default)
        return f"{self.help} (default: {shown}; {self.allowed()})"


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def _number(value: float | None) -> str:
    """A range bound as people write it: ``8``, ``0.05``, ``1e-05``."""
    if value is None:
        return "any"
    if float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:g}"


def _text(value: Any) -> str:
    """A default value as it would be typed on the command line."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _parse_bool(value: Any, label: str) -> bool:
    """``true``/``false`` (and yes/no, on/off, 1/0) or a real bool; anything else is an error."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{label} {value!r}: not true or false (use true/false, yes/no, on/off, 1/0)")


def _parse_number(value: Any, kind: str, label: str, allowed: str) -> int | float:
    """An int or a finite float from text or a number; a clear error otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{label} {value!r}: not a number ({allowed})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} {value!r}: not a number ({allowed})") from None
    if not math.isfinite(number):
        raise ValueError(f"{label} {value}: not a finite number ({allowed})")
    if kind == "float":
        return number
    if not number.is_integer() or (isinstance(value, str) and not _is_int_text(value)):
        raise ValueError(f"{label} {value!r}: not a whole number ({allowed})")
    return int(number)


def _is_int_text(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


HPARAMS: tuple[HParam, ...] = (
    # --- model ---
    HParam(
        "hidden_size",
        "model",
        {"audio": 64, "face": 64, "fusion": 16},
        NEURAL,
        "int",
        8,
        256,
        8,
        help="LSTM hidden units (fusion: MLP hidden units)",
    ),
    HParam(
        "num_layers",
        "model",
        1,
        ("audio", "face"),
        "int",
        1,
        4,
        1,
        help="stacked LSTM layers (dropout between layers only when > 1)",
    ),
    HParam("dropout", "model", 0.3, NEURAL, "float", 0.0, 0.8, 0.05, help="dropout rate"),
    # --- training ---
    HParam(
        "lr",
        "training",
        {"audio": 1e-3, "face": 1e-3, "fusion": 3e-3},
        NEURAL,
        "float",
        1e-5,
        1e-1,
        log=True,
        help="initial learning rate (Adam)",
    ),
    HParam(
        "weight_decay",
        "training",
        1e-4,
        NEURAL,
        "float",
        0.0,
        1e-2,
        log=False,
        help="L2 weight decay",
    ),
    HParam(
        "batch_size",
        "training",
        {"audio": 32, "face": 32, "fusion": 16},
        NEURAL,
        "int",
        4,
        256,
        4,
        help="windows per batch (fusion: participants per batch)",
    ),
    HParam(
        "max_epochs",
        "training",
        {"audio": 30, "face": 30, "fusion": 60},
        NEURAL,
        "int",
        1,
        500,
        1,
        help="epochs to train in all (a resumed run may go this many beyond where it stopped)",
    ),
    HParam(
        "patience",
        "training",
        {"audio": 8, "face": 8, "fusion": 12},
        NEURAL,
        "int",
        1,
        100,
        1,
        help="early stopping: epochs without validation improvement",
    ),
    HParam(
        "lr_factor",
        "training",
        0.5,
        NEURAL,
        "float",
        0.05,
        0.95,
        0.05,
        help="ReduceLROnPlateau: multiply the learning rate by this on a plateau",
    ),
    HParam(
        "lr_patience",
        "training",
        3,
        NEURAL,
        "int",
        0,
        50,
        1,
        help="ReduceLROnPlateau: epochs of plateau before lowering the learning rate",
    ),
    HParam(
        "grad_clip",
        "training",
        1.0,
        ("audio",),
        "float",
        0.0,
        10.0,
        0.1,
        help="gradient-norm clipping for the audio model (0 = off)",
    ),
    HParam(
        "class_weighting",
        "training",
        "balanced",
        NEURAL,
        "choice",
        choices=("balanced", "none"),
        help="class-weighted loss from participant counts, or none",
    ),
    HParam(
        "device",
        "training",
        "auto",
        NEURAL,
        "choice",
        choices=("auto", "cpu", "cuda", "mps"),
        help="auto = CUDA, then MPS, then CPU",
    ),
    HParam(
        "amp", "training", True, NEURAL, "bool", help="mixed precision on CUDA (ignored on CPU)"
    ),
    # --- features and windows ---
    HParam(
        "rate_hz",
        "features",
        {"audio": 10.0, "face": 5.0},
        ("audio", "face"),
        "float",
        1.0,
        30.0,
        1.0,
        help="frames per second after resampling",
    ),
    HParam(
        "face_features",
        "features",
        ("aus", "pose", "gaze"),
        ("face",),
        "multi",
        choices=("aus", "pose", "gaze", "landmarks"),
        help="facial feature sets",
    ),
    HParam(
        "include_formant",
        "features",
        False,
        ("audio",),
        "bool",
        help="add the five formant frequencies to COVAREP",
    ),
    HParam(
        "gate",
        "features",
        "participant",
        ("audio", "face"),
        "choice",
        choices=("participant", "all"),
        help="keep only the participant's speaking turns, or the whole session",
    ),
    HParam(
        "window_s",
        "windows",
        8.0,
        ("audio", "face"),
        "float",
        2.0,
        60.0,
        1.0,
        help="window length in seconds",
    ),
    HParam(
        "overlap",
        "windows",
        0.5,
        ("audio", "face"),
        "float",
        0.0,
        0.9,
        0.05,
        help="fraction of a window shared with the next one",
    ),
    # --- text ---
    HParam("n_estimators", "text", 100, ("text",), "int", 10, 1000, 10, help="Random Forest trees"),
    HParam(
        "min_df",
        "text",
        5,
        ("text",),
        "int",
        1,
        50,
        1,
        help="TF-IDF: ignore n-grams in fewer documents than this",
    ),
    HParam(
        "max_df",
        "text",
        0.75,
        ("text",),
        "float",
        0.1,
        1.0,
        0.05,
        help="TF-IDF: ignore n-grams in more than this share of documents",
    ),
    HParam(
        "ngram_max",
        "text",
        2,
        ("text",),
        "int",
        1,
        3,
        1,
        help="longest n-gram (n-grams from 1 to this)",
    ),
    HParam(
        "min_samples_split",
        "text",
        2,
        ("text",),
        "int",
        2,
        20,
        1,
        help="Random Forest minimum samples to split a node",
    ),
    HParam(
        "speakers",
        "text",
        "participant",
        ("text",),
        "choice",
        choices=("participant", "interviewer", "both"),
        help="whose words make the document; interviewer and both are shortcut-prone",
    ),
)


def for_modality(modality: str) -> list[HParam]:
    """The hyper-parameters that apply to one modality, in table order."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    return [h for h in HPARAMS if modality in h.modalities]


def defaults(modality: str) -> dict[str, dict[str, Any]]:
    """Default configuration sections for one modality: ``{section: {name: value}}``."""
    sections: dict[str, dict[str, Any]] = {}
    for h in for_modality(modality):
        sections.setdefault(h.section, {})[h.name] = h.default_for(modality)
    return sections


def resolve(modality: str, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Defaults overridden by ``values`` (flat ``name: value``), each validated.

    Raises
    ------
    ValueError
        An unknown name for this modality, or an invalid value.
    """
    table = {h.name: h for h in for_modality(modality)}
    unknown = sorted(set(values) - set(table))
    if unknown:
        raise ValueError(f"{modality} runs do not take {unknown}")
    sections = defaults(modality)
    for name, value in values.items():
        if value is not None:
            sections[table[name].section][name] = table[name].parse(value)
    return sections


def by_name(name: str) -> HParam:
    """The table entry called ``name``.

    Raises
    ------
    KeyError
        No hyper-parameter has that name.
    """
    for h in HPARAMS:
        if h.name == name:
            return h
    raise KeyError(name)


def resume_epochs(
    done: int,
    planned: int,
    max_epochs: Any = None,
    more_epochs: Any = None,
    labels: tuple[str, str] = ("max_epochs", "more_epochs"),
) -> int:
    """The new total of epochs for a resumed run; the cap counts from where it stopped.

    A resumed run may train up to the ``max_epochs`` slider's top value *more* epochs,
    so a long run is never trapped under the cap of a new one.

    Parameters
    ----------
    done : int
        Epochs the run has finished.
    planned : int
        Its current total (``training.max_epochs``), used when neither count is given.
    max_epochs : int, optional
        A new total, from ``done + 1`` to ``done`` plus the cap.
    more_epochs : int, optional
        Epochs to add to ``done``, from 1 to the cap.
    labels : tuple of str
        How errors name the two counts (``--max-epochs`` on the command line).

    Returns
    -------
    int
        The total the resumed run trains up to.

    Raises
    ------
    ValueError
        Both counts given, or one out of its range (the message names it, its value and
        the allowed range).
    """
    cap = int(by_name("max_epochs").high)
    if max_epochs is not None and more_epochs is not None:
        raise ValueError(f"give {labels[0]} (a new total) or {labels[1]}, not both")
    if more_epochs is not None:
        more = HParam(labels[1], "training", 1, NEURAL, "int", 1, cap).parse(more_epochs)
        return done + more
    if max_epochs is None:
        return planned
    total = HParam(labels[0], "training", 1, NEURAL, "int", done + 1, done + cap)
    try:
        return total.parse(max_epochs)
    except ValueError as error:
        raise ValueError(
            f"{error}: the run has finished {done} epochs and a resume may add 1 to {cap} more"
        ) from None
