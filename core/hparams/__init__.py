"""Every hyper-parameter a run accepts, in one table.

The command line (``python -m core.train``) builds its options from this table and the
Train page builds its widgets from it, so the two can never disagree about names, labels,
ranges or defaults. Each entry (:class:`HParam`, in :mod:`core.hparams.table`) belongs to
one section of the run configuration (``model``, ``training``, ``features``, ``windows``
or ``text``).
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidSetting
from core.hparams.param import FALSE_WORDS, TRUE_WORDS, HParam
from core.hparams.table import HPARAMS, NEURAL

__all__ = [
    "FALSE_WORDS",
    "HPARAMS",
    "NEURAL",
    "TRUE_WORDS",
    "HParam",
    "by_name",
    "defaults",
    "for_modality",
    "modalities",
    "register_modality",
    "unregister_modality",
    "resolve",
    "resume_epochs",
]


def modalities() -> tuple[str, ...]:
    """Every modality some hyper-parameter applies to, in table order.

    The run kinds (:mod:`core.kinds`) are the list of modalities; this is what the table
    holds for them, the built-in ones and those registered by :func:`register_modality`.
    """
    return tuple(dict.fromkeys(m for h in HPARAMS for m in h.modalities))


def register_modality(name: str, like: str, defaults: dict[str, Any] | None = None) -> None:
    """Give a new modality the hyper-parameters of ``like``, with its own defaults.

    A run kind registered with :func:`core.kinds.register` calls this, so the command
    line, the Train page and experiment specs take its settings. Registering again
    only changes the defaults.

    Parameters
    ----------
    name : str
        The new modality.
    like : str
        A modality of the table whose parameters (and their defaults) it takes.
    defaults : dict, optional
        Hyper-parameter name to this modality's default, where it differs from ``like``'s.

    Raises
    ------
    InvalidSetting
        ``like`` is not in the table, or a default names a parameter ``like`` lacks.
    """
    if like not in modalities():
        raise InvalidSetting(f"unknown modality {like!r}; expected one of {modalities()}")
    defaults = dict(defaults or {})
    unknown = sorted(set(defaults) - {h.name for h in HPARAMS if like in h.modalities})
    if unknown:
        raise InvalidSetting(f"{like} runs have no {unknown} to give {name} defaults for")
    for h in HPARAMS:
        if like not in h.modalities:
            continue
        default = defaults.get(h.name, h.default_for(like))
        if isinstance(h.default, dict) or h.name in defaults:
            base = (
                h.default if isinstance(h.default, dict) else dict.fromkeys(h.modalities, h.default)
            )
            object.__setattr__(h, "default", {**base, name: default})  # the table's own rows
        if name not in h.modalities:
            object.__setattr__(h, "modalities", (*h.modalities, name))


def unregister_modality(name: str) -> None:
    """Take a modality added by :func:`register_modality` out of the table again."""
    for h in HPARAMS:
        if name in h.modalities:
            object.__setattr__(h, "modalities", tuple(m for m in h.modalities if m != name))
        if isinstance(h.default, dict) and name in h.default:
            object.__setattr__(h, "default", {m: v for m, v in h.default.items() if m != name})


def for_modality(modality: str) -> list[HParam]:
    """The hyper-parameters that apply to one modality, in table order.

    Raises
    ------
    InvalidSetting
        An unknown modality.
    """
    if modality not in modalities():
        raise InvalidSetting(f"unknown modality {modality!r}; expected one of {modalities()}")
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
    InvalidSetting
        An unknown name for this modality, or an invalid value (also a ``ValueError``).
    """
    table = {h.name: h for h in for_modality(modality)}
    unknown = sorted(set(values) - set(table))
    if unknown:
        raise InvalidSetting(f"{modality} runs do not take {unknown}")
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


def _count(label: str, low: int, high: int) -> HParam:
    """A whole number from ``low`` to ``high``, named ``label`` in errors."""
    return HParam(
        name=label,
        section="training",
        default=low,
        modalities=NEURAL,
        kind="int",
        low=low,
        high=high,
    )


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
    InvalidSetting
        Both counts given, or one out of its range (the message names it, its value and
        the allowed range).
    """
    cap = int(by_name("max_epochs").bounds()[1])
    if max_epochs is not None and more_epochs is not None:
        raise InvalidSetting(f"give {labels[0]} (a new total) or {labels[1]}, not both")
    if more_epochs is not None:
        return done + _count(labels[1], 1, cap).parse(more_epochs)
    if max_epochs is None:
        return planned
    try:
        return _count(labels[0], done + 1, done + cap).parse(max_epochs)
    except InvalidSetting as error:
        raise InvalidSetting(
            f"{error}: the run has finished {done} epochs and a resume may add 1 to {cap} more"
        ) from None
