"""An experiment's spec: a TOML file (or a dict from a screen), validated in one place.

Every hyper-parameter name, fixed value and search range is checked against the
hyper-parameter table (:mod:`core.hparams`); a problem raises :class:`SpecError` naming
the spec and the key, for example ``spec.toml: search.hidden_size: ...``.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from core import hparams
from core.errors import REFUSED, UserError

OBJECTIVES: dict[str, Literal["maximize", "minimize"]] = {
    "macro_f1": "maximize",
    "auroc": "maximize",
    "val_loss": "minimize",
}
PROTOCOLS = ("dev", "cv")
SAMPLERS = ("grid", "random", "tpe")


def modalities() -> tuple[str, ...]:
    """The kinds an experiment trains: fusion runs are trained on other runs, so not them."""
    from core.kinds import KINDS

    return tuple(name for name, kind in KINDS.items() if not kind.sources)


KEYS = (
    "name",
    "modality",
    "objective",
    "protocol",
    "folds",
    "fold_seed",
    "seeds",
    "sampler",
    "trials",
    "threads",
    "fixed",
    "search",
)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SEED_RANGE = (0, 2**32 - 1)
MAX_TRIALS = 10_000
"""The most configurations one experiment tries, whether given or a grid's size."""


class SpecError(UserError, ValueError):
    """A spec with a missing, unknown or invalid key; the message names the file and key.

    A bad argument for the command line: it ends with exit status 2, nothing done.
    """

    exit_status = REFUSED


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment spec.

    Attributes
    ----------
    name : str
        Folder name of the experiment.
    modality : {"text", "audio", "face"}
        What every run trains.
    objective : {"macro_f1", "auroc", "val_loss"}
        Participant-level value given to Optuna (mean over seeds).
    protocol : {"dev", "cv"}
        The official train/dev split, or participant-grouped stratified k-fold over
        train+dev.
    folds : int or None
        Folds of ``cv`` (None for ``dev``).
    fold_seed : int
        Seed of the fold assignment (the same folds for every configuration and seed).
    seeds : tuple of int
        Every configuration is trained once per seed (and fold).
    sampler : {"grid", "random", "tpe"}
        Optuna sampler.
    trials : int
        Configurations to try (for ``grid``: the grid's size unless fewer are asked).
    threads : int or None
        CPU threads per run; None: the cores divided by the workers.
    fixed : dict
        Hyper-parameters every run takes, by name, parsed.
    search : dict
        Name to a list (categorical) or ``{"low", "high", "log"}`` (a range).
    source : str
        Where the spec came from (a path, or ``<screen>``), for messages.
    """

    name: str
    modality: str
    objective: str = "macro_f1"
    protocol: str = "dev"
    folds: int | None = None
    fold_seed: int = 0
    seeds: tuple[int, ...] = (0,)
    sampler: str = "grid"
    trials: int = 1
    threads: int | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    source: str = "<spec>"

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        """``maximize`` or ``minimize`` (only ``val_loss`` is minimised)."""
        return OBJECTIVES[self.objective]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (what :func:`spec_from_dict` reads back)."""
        out = asdict(self)
        out.pop("source")
        out["seeds"] = list(self.seeds)
        out["fixed"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.fixed.items()}
        return {k: v for k, v in out.items() if v is not None}


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec file (TOML).

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file.

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    SpecError
        The file is missing, not UTF-8 text or not TOML, or a key is missing, unknown or
        invalid. A UTF-8 byte order mark is fine.
    """
    path = Path(path)
    try:
        # utf-8-sig: a byte order mark (written by some Windows editors) is not TOML.
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise SpecError(
            f"{path} is not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}): "
            "save the spec as UTF-8 (TOML files are UTF-8), then run it again"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    return spec_from_dict(data, source=str(path))


def spec_from_dict(data: dict[str, Any], source: str = "<screen>") -> ExperimentSpec:
    """Validate a spec given as a dict (the TOML file's tables, or a screen's form).

    Parameters
    ----------
    data : dict
        The spec's keys (see :data:`KEYS`).
    source : str, default "<screen>"
        How messages name where the spec came from.

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    SpecError
        Naming ``source`` and the key.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec is a table of keys, got {type(data).__name__}")
    check = _Checker(source)
    if unknown := sorted(set(data) - set(KEYS)):
        check.fail(unknown[0], f"unknown key; a spec takes {', '.join(KEYS)}")
    name = check.text(data, "name", required=True)
    if not NAME_PATTERN.match(name):
        check.fail("name", f"{name!r}: use letters, digits, '.', '_' or '-' (it names a folder)")
    modality = check.choice(data, "modality", modalities(), required=True)
    objective = check.choice(data, "objective", tuple(OBJECTIVES), default="macro_f1")
    protocol = check.choice(data, "protocol", PROTOCOLS, default="dev")
    sampler = check.choice(data, "sampler", SAMPLERS, default="grid")
    folds = check.whole(data, "folds", 2, 50, default=None)
    if protocol == "cv" and folds is None:
        check.fail("folds", "protocol 'cv' needs folds (2 or more)")
    if protocol == "dev" and folds is not None:
        check.fail("folds", "folds go with protocol 'cv'; protocol 'dev' uses the official split")
    seeds = check.seeds(data)
    fixed = check.fixed(data.get("fixed", {}), modality)
    search = check.search(data.get("search", {}), modality, sampler, set(fixed))
    grid_size = math.prod(len(v) for v in search.values()) if sampler == "grid" else None
    trials = check.whole(data, "trials", 1, MAX_TRIALS, default=grid_size)
    if trials is None:
        check.fail("trials", f"sampler {sampler!r} needs trials = N (how many configurations)")
    if grid_size is not None and trials > grid_size:
        check.fail("trials", f"{trials} is more than the grid's {grid_size} configurations")
    if trials > MAX_TRIALS:  # a grid's size, taken as the default
        check.fail(
            "search",
            f"the grid has {trials:,} configurations, more than {MAX_TRIALS:,}: search fewer "
            f"values, or give trials = N (at most {MAX_TRIALS:,}) to try N of them",
        )
    return ExperimentSpec(
        name=name,
        modality=modality,
        objective=objective,
        protocol=protocol,
        folds=folds,
        fold_seed=check.whole(data, "fold_seed", *SEED_RANGE, default=0) or 0,
        seeds=seeds,
        sampler=sampler,
        trials=trials,
        threads=check.whole(data, "threads", 1, 1024, default=None),
        fixed=fixed,
        search=search,
        source=source,
    )


class _Checker:
    """Validation helpers that raise :class:`SpecError` naming the source and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, why: str) -> NoReturn:
        raise SpecError(f"{self.source}: {key}: {why}")

    def text(self, data: dict, key: str, required: bool = False) -> str:
        value = data.get(key)
        if value is None and required:
            self.fail(key, "missing")
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"{value!r}: expected text")
        return value.strip()

    def choice(
        self, data: dict, key: str, choices: tuple, required: bool = False, default: Any = None
    ) -> Any:
        if key not in data:
            if required:
                self.fail(key, f"missing; one of {', '.join(choices)}")
            return default
        if data[key] not in choices:
            self.fail(key, f"{data[key]!r}: expected one of {', '.join(choices)}")
        return data[key]

    def whole(self, data: dict, key: str, low: int, high: int, default: int | None) -> int | None:
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"{value!r}: expected a whole number from {low} to {high}")
        return value

    def seeds(self, data: dict) -> tuple[int, ...]:
        seeds = data.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            self.fail("seeds", f"{seeds!r}: expected a list of whole numbers, e.g. [0, 1, 2]")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int):
                self.fail("seeds", f"{seed!r}: not a whole number")
            if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
                self.fail("seeds", f"{seed}: outside 0 to {SEED_RANGE[1]}")
        if len(set(seeds)) != len(seeds):
            self.fail("seeds", f"{seeds}: a seed is repeated")
        return tuple(seeds)

    def _param(self, key: str, name: str, modality: str) -> hparams.HParam:
        try:
            h = hparams.by_name(name)
        except KeyError:
            self.fail(key, "no hyper-parameter has this name (see python -m core.train --help)")
        if modality not in h.modalities:
            self.fail(key, f"{modality} runs do not take {name}")
        return h

    def _value(self, key: str, h: hparams.HParam, value: Any) -> Any:
        try:
            return h.parse(value)
        except ValueError as error:
            self.fail(key, str(error))

    def fixed(self, table: Any, modality: str) -> dict[str, Any]:
        if not isinstance(table, dict):
            self.fail("fixed", "expected a table of hyper-parameters: [fixed] name = value")
        out = {}
        for name, value in table.items():
            key = f"fixed.{name}"
            out[name] = self._value(key, self._param(key, name, modality), value)
        return out

    def search(self, table: Any, modality: str, sampler: str, fixed: set[str]) -> dict[str, Any]:
        if not isinstance(table, dict):
            self.fail("search", "expected a table: [search] name = [values] or {low, high}")
        out: dict[str, Any] = {}
        for name, space in table.items():
            key = f"search.{name}"
            h = self._param(key, name, modality)
            if name in fixed:
                self.fail(key, "also under [fixed]; a hyper-parameter is fixed or searched")
            if isinstance(space, list):
                out[name] = self._categorical(key, h, space)
            elif isinstance(space, dict):
                if sampler == "grid":
                    self.fail(key, "a range needs sampler 'random' or 'tpe'; grid takes lists")
                out[name] = self._range(key, h, space)
            else:
                self.fail(key, f"{space!r}: expected a list of values or {{low, high, log}}")
        return out

    def _categorical(self, key: str, h: hparams.HParam, values: list) -> list:
        if not values:
            self.fail(key, "an empty list; give at least one value")
        parsed = [self._value(key, h, v) for v in values]
        # Optuna's choices are plain values: several choices are kept as "a,b" text.
        parsed = [",".join(v) if isinstance(v, tuple) else v for v in parsed]
        if len({repr(v) for v in parsed}) != len(parsed):
            self.fail(key, f"{values}: a value is repeated")
        return parsed

    def _range(self, key: str, h: hparams.HParam, space: dict) -> dict[str, Any]:
        if h.kind not in ("int", "float"):
            self.fail(key, f"{h.name} is a {h.kind} setting: give a list of values, not a range")
        if unknown := sorted(set(space) - {"low", "high", "log"}):
            self.fail(key, f"unknown {unknown}; a range takes low, high and log")
        if "low" not in space or "high" not in space:
            self.fail(key, "a range needs low and high")
        low, high = (self._value(f"{key}.{end}", h, space[end]) for end in ("low", "high"))
        log = space.get("log", False)
        if not isinstance(log, bool):
            self.fail(f"{key}.log", f"{log!r}: expected true or false")
        if low >= high:
            self.fail(key, f"low {low} must be below high {high}")
        if log and low <= 0:
            self.fail(key, f"a log range needs low > 0, got {low}")
        return {"low": low, "high": high, "log": log}
