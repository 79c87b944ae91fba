"""One hyper-parameter: its section, default, range or choices, label and help.

The command line builds its options and validation from :meth:`HParam.parse`,
:meth:`HParam.allowed` and :meth:`HParam.describe`; the Train page builds its widgets
from the same fields, so the two can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidSetting

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


@dataclass(frozen=True, kw_only=True)
class HParam:
    """One hyper-parameter; every field is given by keyword.

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
        Allowed range (``None``: unbounded) and the slider's step.
    log : bool
        Whether a slider should move on a log scale.
    choices : tuple
        Allowed values for ``choice`` and ``multi``.
    label : str
        The widget's label; default the name in words (``"Hidden size"``).
    help : str
        One line for the command line and the widget's tooltip.
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
    label: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())

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

        Returns
        -------
        Any
            The value as its kind says: int, float, bool, a choice or a tuple of choices.

        Raises
        ------
        InvalidSetting
            The value has the wrong type, is not finite, or lies outside the allowed
            range or choices; the message names the parameter, the value and what is
            allowed (also a ``ValueError``).
        """
        label = label or self.name
        if self.kind == "multi":
            items = value.split(",") if isinstance(value, str) else list(value)
            chosen = tuple(str(v).strip() for v in items if str(v).strip())
            unknown = [v for v in chosen if v not in self.choices]
            if unknown or not chosen:
                raise InvalidSetting(f"{label} {value!r}: {self.allowed()}")
            return chosen
        if self.kind == "choice":
            if value not in self.choices:
                raise InvalidSetting(f"{label} {value!r}: {self.allowed()}")
            return value
        if self.kind == "bool":
            return _parse_bool(value, label)
        number = _parse_number(value, self.kind, label, self.allowed())
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise InvalidSetting(f"{label} {value}: outside the {self.allowed()}")
        return number

    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a number parameter (every one in the table is bounded).

        Raises
        ------
        ValueError
            The parameter lacks a lower or an upper bound (a choice or a flag has none).
        """
        if self.low is None or self.high is None:
            raise ValueError(f"{self.name} ({self.kind}) has no range")
        return self.low, self.high

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
    raise InvalidSetting(
        f"{label} {value!r}: not true or false (use true/false, yes/no, on/off, 1/0)"
    )


def _parse_number(value: Any, kind: str, label: str, allowed: str) -> int | float:
    """An int or a finite float from text or a number; a clear error otherwise."""
    if isinstance(value, bool):
        raise InvalidSetting(f"{label} {value!r}: not a number ({allowed})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidSetting(f"{label} {value!r}: not a number ({allowed})") from None
    if not math.isfinite(number):
        raise InvalidSetting(f"{label} {value}: not a finite number ({allowed})")
    if kind == "float":
        return number
    if not number.is_integer() or (isinstance(value, str) and not _is_int_text(value)):
        raise InvalidSetting(f"{label} {value!r}: not a whole number ({allowed})")
    return int(number)


def _is_int_text(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
