"""The experiment folder: its file names, its set-up, and the plan of its runs.

::

    experiments/NAME/
      spec.toml          the spec as given (when it came from a file)
      spec.json          the validated spec
      experiment.json    data root, threads per run, workers, the folds (participant IDs),
                         the corpus's fingerprint (a resume on a changed corpus is refused)
      study.journal      the Optuna study (JournalStorage; optuna-dashboard opens it)
      configurations.json  configuration ID -> trial number, params (written by the driver)
      outcomes.json      per run: state, reason, times (written by the driver)
      driver.json        the driver's process, state and reason
      driver.log         what background drivers printed
      configs/           one run configuration per run (JSON), read by the workers
      runs/c000-s0-f1/   one ordinary run folder per configuration x seed x fold
      promotion/         the best configuration retrained per seed; promotion.json
      stop.request       written by ``stop``: runs checkpoint and exit
      study.journal.torn  a torn last record of the study, set aside (kept) by the driver
      superseded/STAMP/  runs trained on a corpus that changed since (--allow-changed-data)

Only the driver writes ``configurations.json``, ``outcomes.json`` and ``driver.json``;
the workers write only their run folders.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from core.config import make_config, open_corpus
from core.errors import InvalidRequest
from core.experiment.spec import ExperimentSpec, spec_from_dict
from core.runs import folder as run_folder

SPEC_TOML = "spec.toml"
SPEC_JSON = "spec.json"
SETUP = "experiment.json"
STUDY = "study.journal"
CONFIGURATIONS = "configurations.json"
OUTCOMES = "outcomes.json"
DRIVER = "driver.json"
DRIVER_LOG = "driver.log"
DRIVER_LOCK = ".driver.lock"
CONFIGS = "configs"
RUNS = "runs"
PROMOTION = "promotion"
PROMOTION_FILE = "promotion.json"
STOP = "stop.request"
EXPERIMENTS = "experiments"


def runs_root() -> Path:
    """The runs root the dashboard uses (``checkpoints/`` or ``$DAIC_RUNS_ROOT``)."""
    return run_folder.runs_root()


def default_folder(name: str) -> Path:
    """Where an experiment goes without ``--out``: ``<runs root>/experiments/NAME``."""
    return runs_root() / EXPERIMENTS / name


@dataclass(frozen=True)
class RunPlan:
    """One unit of work: a configuration x seed x fold."""

    name: str
    config_id: str
    seed: int
    fold: int | None


class Experiment:
    """An experiment folder: its spec, set-up and runs (reading never writes).

    Parameters
    ----------
    path : str or pathlib.Path
        The experiment folder (holding ``spec.json``).

    Raises
    ------
    InvalidRequest
        The folder holds no experiment.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        spec = run_folder.read_json(self.path / SPEC_JSON)
        setup = run_folder.read_json(self.path / SETUP)
        if not isinstance(spec, dict) or not isinstance(setup, dict):
            raise InvalidRequest(f"{self.path} holds no experiment (no {SPEC_JSON})")
        self.spec: ExperimentSpec = spec_from_dict(spec, source=str(self.path / SPEC_JSON))
        self.setup: dict[str, Any] = setup

    # --- names -------------------------------------------------------------------------
    @property
    def threads(self) -> int:
        """CPU threads per run, fixed when the experiment was created."""
        return int(self.setup["threads"])

    @property
    def folds(self) -> list[dict[str, list[int]]] | None:
        """The folds' participant IDs (``cv``), or None (``dev``: the official split)."""
        return self.setup.get("folds")

    def file(self, name: str) -> Path:
        """A file of the experiment folder."""
        return self.path / name

    def plans(self, config_id: str) -> list[RunPlan]:
        """The runs of one configuration: every seed x fold, in a fixed order."""
        folds = range(len(self.folds)) if self.folds else [None]
        return [
            RunPlan(run_name(config_id, seed, fold), config_id, seed, fold)
            for seed in self.spec.seeds
            for fold in folds
        ]

    def run_dir(self, plan: RunPlan) -> Path:
        """The run folder of one unit of work."""
        return self.path / RUNS / plan.name

    def config_file(self, plan: RunPlan) -> Path:
        """The run configuration the worker reads."""
        return self.path / CONFIGS / f"{plan.name}.json"

    def run_config(
        self, plan: RunPlan, params: dict[str, Any], role: str = "search"
    ) -> dict[str, Any]:
        """The run configuration of one unit of work (validated by :func:`make_config`).

        Its ``experiment`` section names the experiment, configuration, seed, fold, the
        threads the run uses (so it gives the same numbers wherever it runs) and its role:
        ``search`` runs never evaluate the test split (:mod:`core.evaluate`).
        """
        assignment = self.folds[plan.fold] if plan.fold is not None and self.folds else None
        config = make_config(
            self.spec.modality,
            self.setup.get("data_root"),
            {**self.spec.fixed, **params},
            plan.seed,
            assignment=assignment,
        )
        config["experiment"] = {
            "name": self.spec.name,
            "configuration": plan.config_id,
            "seed": plan.seed,
            "fold": plan.fold,
            "threads": self.threads,
            "role": role,
        }
        return config

    def stop_requested(self) -> bool:
        """Whether ``stop`` asked the experiment to stop."""
        return (self.path / STOP).exists()


def run_name(config_id: str, seed: int, fold: int | None) -> str:
    """``c003-s1-f2`` (``c003-s1`` for the official split)."""
    return f"{config_id}-s{seed}" + ("" if fold is None else f"-f{fold}")


def config_id(trial_number: int) -> str:
    """A configuration's ID from its Optuna trial number: ``c000``."""
    return f"c{trial_number:03d}"


def default_threads(workers: int) -> int:
    """Threads per run so that workers x threads does not exceed this machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity; all cores where unknown)."""
    try:
        return max(1, len(psutil.Process().cpu_affinity() or ()))
    except (AttributeError, psutil.Error, OSError):  # no affinity on this platform
        return max(1, psutil.cpu_count() or os.cpu_count() or 1)


def default_workers() -> int:
    """Local workers by default: one per core."""
    return usable_cores()


def local_workers(workers: int | None, scheduler: str | None = None) -> tuple[int, str | None]:
    """How many local workers to start for ``workers`` asked, and a note when fewer.

    Each local worker is a process that trains one run at a time with its own copy of
    the training code and data (hundreds of MB); more workers than cores only share the
    cores and multiply the memory. On a ``scheduler`` the workers are the cluster's own
    and the number is not this machine's business.

    Parameters
    ----------
    workers : int or None
        Workers asked for; None: one per core.
    scheduler : str, optional
        A Dask scheduler's address.

    Returns
    -------
    tuple of (int, str or None)
        The workers to use, and a sentence saying why fewer than asked (else None).
    """
    cores = usable_cores()
    if workers is None:
        return cores, None
    if scheduler or workers <= cores:
        return workers, None
    return cores, (
        f"--workers {workers} capped at {cores}: this machine has {cores} "
        f"core{'s' if cores > 1 else ''}, and more local workers than cores only share them "
        "while each takes its own memory (give --scheduler to use a larger cluster)"
    )


def make_folds(spec: ExperimentSpec, data_root: str | None) -> list[dict[str, list[int]]] | None:
    """The participant-grouped stratified folds over train+dev, or None for ``dev``.

    Only participants with the spec's modality and a binary label take part; the folds
    depend on the participants and ``fold_seed`` only, so every configuration and seed
    is trained and scored on the same folds.
    """
    if spec.protocol != "cv" or spec.folds is None:
        return None
    from core.evaluation.folds import participant_folds

    corpus = open_corpus(make_config(spec.modality, data_root))
    ids = [
        pid
        for split in ("train", "dev")
        for pid in corpus.ids(split, modality=spec.modality, labelled=True)
    ]
    try:
        return participant_folds(ids, corpus.labels(ids).tolist(), spec.folds, spec.fold_seed)
    except ValueError as error:
        raise InvalidRequest(f"{spec.source}: folds: {error}") from None


def open_experiment_corpus(spec: ExperimentSpec, setup: dict[str, Any]) -> Any:
    """The corpus an experiment trains on, on its official split."""
    return open_corpus(make_config(spec.modality, setup.get("data_root")))


def experiment_fingerprint(spec: ExperimentSpec, data_root: str | None) -> dict[str, Any]:
    """The corpus's fingerprint as an experiment records it (``experiment.json``).

    The label files, the train and dev participants and all their session files
    (:func:`core.kinds.fingerprint.corpus_fingerprint`): whatever a run of the
    experiment may read, whichever features a configuration takes.
    """
    from core.kinds.fingerprint import corpus_fingerprint

    return corpus_fingerprint(open_experiment_corpus(spec, {"data_root": data_root}))


def create(
    spec: ExperimentSpec,
    data: str | Path | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> Path:
    """Write a new experiment folder, or return an existing one with the same spec.

    Parameters
    ----------
    spec : ExperimentSpec
        The validated spec.
    data : str or pathlib.Path, optional
        Corpus root (default: the bundled sample).
    out : str or pathlib.Path, optional
        The folder (default :func:`default_folder`).
    workers : int, optional
        Local workers (default one per core); sets the threads per run.
    scheduler : str, optional
        A Dask scheduler's address; threads per run default to 1 there.

    Returns
    -------
    pathlib.Path
        The experiment folder.

    Raises
    ------
    InvalidRequest
        The folder holds a different experiment, or is not empty.
    """
    # Validated again before anything is written: a spec built in code (not read by
    # spec_from_dict) must not make a folder that every later command refuses to open.
    spec = spec_from_dict(spec.to_dict(), source=spec.source)
    path = Path(out) if out else default_folder(spec.name)
    data_root = str(Path(data).expanduser().resolve()) if data else None
    existing = run_folder.read_json(path / SPEC_JSON)
    if existing is not None:
        setup = run_folder.read_json(path / SETUP) or {}
        if (
            existing != json.loads(json.dumps(spec.to_dict()))
            or setup.get("data_root") != data_root
        ):
            raise InvalidRequest(
                f"{path} holds another experiment (its spec or data differ); give a new --out "
                f"or resume it with: python -m core.experiment resume {path}"
            )
        return path
    if path.is_dir() and any(path.iterdir()):
        raise InvalidRequest(f"{path} is not empty and holds no experiment; give a new --out")
    workers, _ = local_workers(workers, scheduler)
    threads = spec.threads or (1 if scheduler else default_threads(workers))
    setup = {
        "version": 1,
        "name": spec.name,
        "data_root": data_root,
        "threads": threads,
        "workers": workers,
        "scheduler": scheduler,
        "folds": make_folds(spec, data_root),
        "fingerprint": experiment_fingerprint(spec, data_root),
        "created": time.time(),
    }
    (path / CONFIGS).mkdir(parents=True, exist_ok=True)
    (path / RUNS).mkdir(exist_ok=True)
    if spec.source and Path(spec.source).is_file():
        shutil.copyfile(spec.source, path / SPEC_TOML)
    run_folder.write_json_atomic(path / SETUP, setup)
    run_folder.write_json_atomic(path / SPEC_JSON, spec.to_dict())  # last: marks it complete
    return path
