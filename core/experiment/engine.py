"""The driver: an Optuna study asks for configurations, Dask runs their runs.

The driver asks the study for configurations (ask/tell), submits one Dask task per run
(:func:`core.experiment.task.run_task`: configuration x seed x fold), and tells the study
a configuration's objective (the mean over seeds) once all its runs have ended. Dask
reschedules the task of a worker that died; the task resumes its run from its latest
checkpoint. The driver writes only the experiment's own files; a driver that is killed
leaves its study and runs on disk, and ``resume`` carries on where it stopped: finished
runs are read back, not trained again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from core.errors import InvalidRequest, Refused
from core.experiment import folder as exp_folder
from core.experiment.folder import Experiment, RunPlan, config_id
from core.experiment.status import configuration_entries
from core.runs import folder
from core.runs.process import start_time
from core.runs.state import SUCCEEDED
from core.runs.supervisor import request_stop

log = logging.getLogger(__name__)
POLL_S = 0.2
PRELOAD = ("torch", "core.train", "core.experiment.task")
"""Modules local workers import when they start."""
AHEAD = 2
"""Runs kept queued beyond the workers (grid and random), so no worker waits for an ask."""
DELETE_WAIT_S = 45.0
"""How long an ending driver watches the folder of a run stopped from outside the
experiment: deleting a run stops it first (waiting up to 40 s for it) and then removes
its files, so a folder that goes meanwhile was deleted."""
LOCK_WAIT_S = 10.0
"""How long a new driver waits for one that is just ending (a resume right after a stop)."""
CONNECT_TIMEOUT_S = 10.0
"""How long the driver waits for a ``--scheduler`` to answer before saying none does."""
SCHEDULER_SCHEMES = ("tcp", "tls")
"""The protocols of a scheduler address this project documents (docs/scale-out.md)."""
SUPERSEDED = "superseded"
"""Where runs trained on a corpus that has changed since are kept (``--allow-changed-data``)."""
REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository folder: what the scheduler and the workers must be able to import."""


# --- the study ------------------------------------------------------------------------
def open_study(exp: Experiment, notes: list[str] | None = None) -> Any:
    """The experiment's Optuna study (journal file in its folder), created if missing.

    A journal whose last record was cut short (a crash or a full disk mid-write) has that
    record set aside (:func:`repair_journal`); a journal that still cannot be read is set
    aside whole and the study rebuilt from the runs' own records (:func:`rebuild_study`).
    What was done is added to ``notes``.
    """
    notes = [] if notes is None else notes
    if note := repair_journal(exp):
        notes.append(note)
    try:
        return _load_study(exp)
    except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        kept = _set_aside(exp.file(exp_folder.STUDY), "unreadable")
        notes.append(
            f"the study journal could not be read ({_first_line(error)}); it was kept as "
            f"{kept.name} and the study rebuilt from the runs' own records"
        )
        return rebuild_study(exp, set_aside=False)


def _load_study(exp: Experiment) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(exp.file(exp_folder.STUDY))))
    return optuna.create_study(
        study_name=exp.spec.name,
        storage=storage,
        sampler=make_sampler(exp),
        direction=exp.spec.direction,
        load_if_exists=True,
    )


def _set_aside(path: Path, why: str) -> Path:
    """Rename ``path`` to ``NAME.WHY-STAMP`` beside it (nothing saved is lost)."""
    kept = path.with_name(f"{path.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    path.rename(kept)
    return kept


def repair_journal(exp: Experiment) -> str | None:
    """Set aside a torn last record of the study journal; say what was done, or None.

    Every record of the journal is one line. A last line without its line end was cut
    short while being written: Optuna skips it, but the next record appended would join
    it into one line that no later read can decode. Its bytes go to
    ``study.journal.torn`` (appended, kept) and the journal is cut back to its last whole
    record; the trial that record belonged to is carried on by the runs' own records.
    """
    path = exp.file(exp_folder.STUDY)
    if not path.is_file():
        return None
    with open(path, "rb+") as journal:
        size = journal.seek(0, os.SEEK_END)
        if size == 0:
            return None
        journal.seek(max(0, size - 1))
        if journal.read(1) == b"\n":
            return None
        # find the last line end, reading back in blocks
        end = size
        while end > 0:
            start = max(0, end - 65536)
            journal.seek(start)
            block = journal.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        else:
            keep = 0
        journal.seek(keep)
        torn = journal.read()
        torn_file = path.with_name(path.name + ".torn")
        with open(torn_file, "ab") as aside:
            aside.write(torn + b"\n")
            aside.flush()
            os.fsync(aside.fileno())
        journal.truncate(keep)
        journal.flush()
        os.fsync(journal.fileno())
    note = (
        f"the study journal's last record was cut short ({len(torn)} bytes, a crash or a full "
        f"disk while it was written); it was set aside in {torn_file.name} and the "
        "experiment carries on from its runs' own records"
    )
    log.warning("%s", note)
    return note


def rebuild_study(
    exp: Experiment, reopen: frozenset[str] | set[str] = frozenset(), set_aside: bool = True
) -> Any:
    """A new study holding the experiment's configurations, from their runs' records.

    The runs are the truth: each configuration recorded in ``configurations.json`` is
    added with its own trial number and parameters, *complete* with its objective when
    all its runs succeeded, *failed* when all ended and one failed, and *running* (open,
    to be driven) otherwise or when its ID is in ``reopen``. A trial number with no
    recorded configuration (asked by a driver that died before recording it) is added as
    failed, without parameters. The old journal, if any, is kept beside it.

    Parameters
    ----------
    exp : Experiment
        The experiment.
    reopen : set of str
        Configuration IDs to open again (their failed runs are tried again).
    set_aside : bool, default True
        Rename the current journal first (False: it is gone already).

    Returns
    -------
    optuna.Study
    """
    from optuna.trial import TrialState, create_trial

    path = exp.file(exp_folder.STUDY)
    if set_aside and path.exists():
        _set_aside(path, "before-rebuild")
    study = _load_study(exp)
    configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
    by_number = {int(info["trial"]): (cid, info) for cid, info in configurations.items()}
    space = distributions(exp)
    grid_ids = _grid_ids(study.sampler)
    entries = {e["id"]: e for e in configuration_entries(exp)}
    for number in range(max(by_number, default=-1) + 1):
        if number not in by_number:
            study.add_trial(create_trial(state=TrialState.FAIL))
            continue
        cid, info = by_number[number]
        params = info.get("params", {})
        entry = entries[cid]
        states = [r["state"] for r in entry["runs"]]
        if cid in reopen or any(s not in SUCCEEDED and s != "failed" for s in states):
            state, value = TrialState.RUNNING, None
        elif "failed" in states or entry["mean"] is None:
            state, value = TrialState.FAIL, None
        else:
            state, value = TrialState.COMPLETE, entry["mean"]
        attrs = {}
        if grid_ids is not None:
            key = tuple(params[name] for name in study.sampler._param_names)
            attrs = {"search_space": study.sampler._search_space, "grid_id": grid_ids[key]}
        study.add_trial(
            create_trial(
                state=state,
                value=value,
                params=params,
                distributions={k: space[k] for k in params},
                system_attrs=attrs,
            )
        )
    return study


def _grid_ids(sampler: Any) -> dict[tuple, int] | None:
    """A grid sampler's grid point -> its ID (what it records on a trial), else None.

    Optuna's ``GridSampler`` numbers its points in a shuffled order it keeps in
    ``_all_grids`` and names its parameters in ``_param_names``; a trial added to the
    study must carry the ID of its point, or the sampler would ask for the point again.
    """
    if not hasattr(sampler, "_all_grids"):
        return None
    return {tuple(point): i for i, point in enumerate(sampler._all_grids)}


def make_sampler(exp: Experiment) -> Any:
    """Grid, random or TPE, seeded with 0 (an empty search is one configuration)."""
    import optuna

    spec = exp.spec
    if spec.sampler == "grid" and spec.search:

        class AskTellGrid(optuna.samplers.GridSampler):
            """A grid whose end is the driver's business.

            Its ``after_trial`` would call ``study.stop()``, which only ``optimize`` accepts.
            """

            def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
                return None

        return AskTellGrid(dict(spec.search), seed=0)
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=0)
    return optuna.samplers.RandomSampler(seed=0)


def distributions(exp: Experiment) -> dict[str, Any]:
    """Optuna distributions of the search space (the hyper-parameter table's kinds)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    from core import hparams

    out: dict[str, Any] = {}
    for name, space in exp.spec.search.items():
        if isinstance(space, list):
            out[name] = CategoricalDistribution(space)
        elif hparams.by_name(name).kind == "int":
            out[name] = IntDistribution(int(space["low"]), int(space["high"]), log=space["log"])
        else:
            out[name] = FloatDistribution(space["low"], space["high"], log=space["log"])
    return out


# --- the cluster ----------------------------------------------------------------------
@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None = None, gpu: bool = False) -> Iterator[Any]:
    """A Dask client: on a new loopback ``LocalCluster``, or on ``scheduler``'s cluster.

    The local cluster has ``workers`` processes of one thread each, listens on
    127.0.0.1 only and has no dashboard. With ``gpu`` it has one worker offering one
    ``GPU`` resource, which every cuda run takes, so runs never share the device (Dask
    resources count per worker; several devices are used by a cluster started with one
    worker per device, see docs/scale-out.md).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        with connect(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=1 if gpu else workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            resources={"GPU": 1} if gpu else None,
            # Imported once per worker at its start, in its main thread: the first run
            # does not pay for them, and a worker that imported torch in a task thread
            # takes seconds longer to close.
            preload=list(PRELOAD),
            # No dashboard; the scheduler's small HTTP server (health, metrics) takes a
            # free loopback port instead of 8787, which another cluster may hold.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def scheduler_address(text: str) -> str:
    """Check the form of a Dask scheduler's address, before anything is done with it.

    Parameters
    ----------
    text : str
        ``tcp://HOST:PORT`` (or ``tls://HOST:PORT``).

    Returns
    -------
    str
        The address, stripped of surrounding blanks.

    Raises
    ------
    core.errors.Refused
        Not of that form (no scheme, another scheme, no host, a port that is not a
        number from 1 to 65535, anything after the port).
    """
    address = text.strip()
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = None
    if (
        parts.scheme not in SCHEDULER_SCHEMES
        or not parts.hostname
        or not port
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise Refused(
            f"{text!r} is not a scheduler address: expected tcp://HOST:PORT (tls://HOST:PORT "
            "with TLS), for example tcp://127.0.0.1:8786"
        )
    return address


def _first_line(error: BaseException) -> str:
    """An exception's message, first line only (Dask's run over several)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def project_importable() -> bool:
    """What the scheduler and each worker run to show they can import this project.

    Sent by reference (``core.experiment.engine.project_importable``): a process that
    cannot import the project fails to unpickle it, as it would fail every task.
    """
    return True


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A client of the scheduler at ``address``, checked to run this project's tasks.

    Waits at most :data:`CONNECT_TIMEOUT_S` for the scheduler; then checks that the
    scheduler and every worker already connected can import the project (Dask's
    scheduler unpickles each task graph, and a worker each task).

    Parameters
    ----------
    address : str
        The scheduler's address (:func:`scheduler_address` checks its form).

    Yields
    ------
    distributed.Client

    Raises
    ------
    core.errors.Refused
        A malformed address; no scheduler answers in time; or the scheduler or a
        worker cannot import the project (the message says how to start them).
    """
    from distributed import Client

    address = scheduler_address(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        raise Refused(
            f"no Dask scheduler answers at {address} ({_first_line(error)}): start it "
            "(docs/scale-out.md), or check the address and that this machine can reach it"
        ) from None
    with client:
        probes = (
            (f"the Dask scheduler at {address}", client.run_on_scheduler),
            (f"a worker of the Dask scheduler at {address}", client.run),
        )
        for who, run in probes:
            try:
                run(project_importable)
            except Exception as error:  # noqa: BLE001 - whatever failed, no task runs there
                raise Refused(
                    f"{who} cannot import this project ({_first_line(error)}), so every run "
                    "would fail: start the scheduler and the workers in this project's "
                    f"environment with the repository on PYTHONPATH (PYTHONPATH={REPO_ROOT} "
                    "dask scheduler ...; see docs/scale-out.md)"
                ) from None
        yield client


def check_scheduler(address: str) -> None:
    """Refuse, before anything is created, a scheduler this driver cannot use.

    Parameters
    ----------
    address : str
        The scheduler's address.

    Raises
    ------
    core.errors.Refused
        As :func:`connect` raises it.
    """
    with connect(address):
        pass


def uses_gpu(exp: Experiment) -> bool:
    """Whether the experiment's runs train on a CUDA device."""
    device = exp.spec.fixed.get("device", "auto")
    from core.kinds import get_kind

    if not get_kind(exp.spec.modality).uses_torch or device in ("cpu", "mps"):
        return False
    if device == "cuda":
        return True
    import torch

    return bool(torch.cuda.is_available())


# --- the driver's record ----------------------------------------------------------------
def write_driver(exp: Experiment, state: str, reason: str | None = None, **extra: Any) -> None:
    """Record the driver's state, process and time (``driver.json``)."""
    path = exp.file(exp_folder.DRIVER)
    record = {**(folder.read_json(path) or {}), **extra, "state": state, "reason": reason}
    record.update(pid=os.getpid(), proc_start=start_time(os.getpid()), heartbeat=time.time())
    folder.write_json_atomic(path, record)


@contextlib.contextmanager
def driver_lock(exp: Experiment) -> Iterator[None]:
    """Hold the experiment's driver lock: one driver per experiment at a time."""
    lock = FileLock(exp.file(exp_folder.DRIVER_LOCK))
    try:
        lock.acquire(timeout=LOCK_WAIT_S)
    except Timeout:
        raise InvalidRequest(f"{exp.path} is already being run by another driver") from None
    try:
        yield
    finally:
        lock.release()


# --- the loop -------------------------------------------------------------------------
class Driver:
    """Ask, submit, collect, tell, until every trial has ended or a stop is asked.

    Trials are asked a few at a time, as workers come free (:data:`AHEAD`), never all at
    once: asking slows as the study grows, and a driver busy asking neither collects
    results nor sees a stop.

    Parameters
    ----------
    exp : Experiment
        The experiment.
    study : optuna.Study
        Its study.
    client : distributed.Client
        Where the runs go.
    workers : int
        How many workers share the work (paces the asks).
    retry : set of str
        Runs recorded as failed that are tried again.
    """

    def __init__(
        self,
        exp: Experiment,
        study: Any,
        client: Any,
        workers: int,
        retry: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.exp, self.study, self.client, self.workers = exp, study, client, workers
        self.configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
        self.outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
        self.retry = set(retry)
        self.open: dict[int, set[str]] = {}  # trial number -> runs not yet ended
        self.futures: dict[Any, tuple[int, RunPlan]] = {}
        self.stopping = False
        self.asked = 0
        self.deleted: list[str] = []  # runs whose folder was deleted while they ran
        self.stopped_outside: list[str] = []  # runs stopped by someone, not by a stop
        self.resources = {"GPU": 1} if uses_gpu(exp) else None

    def run(self) -> str:
        """Drive the experiment; return its final state (completed or stopped)."""
        import optuna

        trials = self.study.get_trials(deepcopy=False)
        self.asked = len(trials)
        for trial in trials:
            if trial.state == optuna.trial.TrialState.RUNNING:
                self._submit_trial(trial.number, trial.params)
        while True:
            if self.exp.stop_requested() and not self.stopping:
                self._stop()
            if not self.stopping:
                self._ask_more()
            done = [f for f in self.futures if f.done()]
            for future in done:
                self._collect(future)
            if not self.futures and (self.stopping or self.asked >= self.exp.spec.trials):
                break
            if not done:
                time.sleep(POLL_S)
        self._settle_outside_stops()
        return "stopped" if self.stopping or self._unfinished() else "completed"

    def _unfinished(self) -> bool:
        import optuna

        running = optuna.trial.TrialState.RUNNING
        return any(t.state == running for t in self.study.get_trials(deepcopy=False))

    def _ask_more(self) -> None:
        """Ask new trials while fewer runs than the workers (and :data:`AHEAD`) are queued.

        TPE asks only for idle workers, so that each ask learns from as many results as
        possible; grid and random keep a few runs queued beyond the workers.
        """
        ahead = 0 if self.exp.spec.sampler == "tpe" else AHEAD
        while self.asked < self.exp.spec.trials and len(self.futures) < self.workers + ahead:
            trial = self.study.ask(distributions(self.exp))
            self.asked += 1
            self._submit_trial(trial.number, trial.params)

    def _submit_trial(self, number: int, params: dict[str, Any]) -> None:
        cid = config_id(number)
        if cid not in self.configurations:
            self.configurations[cid] = {"trial": number, "params": params}
            folder.write_json_atomic(self.exp.file(exp_folder.CONFIGURATIONS), self.configurations)
        self.open[number] = set()
        from core.experiment.task import run_task

        for plan in self.exp.plans(cid):
            earlier = self.outcomes.get(plan.name) or {}
            if earlier.get("state") == "failed" and plan.name not in self.retry:
                continue  # recorded with its reason; not tried again
            config_file = self.exp.config_file(plan)
            if not config_file.exists():
                folder.write_json_atomic(config_file, self.exp.run_config(plan, params))
            future = self.client.submit(
                run_task,
                str(self.exp.run_dir(plan)),
                str(config_file),
                self.exp.threads,
                str(self.exp.file(exp_folder.STOP)),
                key=f"{self.exp.spec.name}-{plan.name}-{time.time_ns()}",
                pure=False,
                resources=self.resources,
            )
            self.futures[future] = (number, plan)
            self.open[number].add(plan.name)
        if not self.open[number]:
            self._tell(number)

    def _collect(self, future: Any) -> None:
        number, plan = self.futures.pop(future)
        outcome: dict[str, Any]
        if future.status == "error":
            error = future.exception()
            outcome = {"state": "failed", "reason": f"{type(error).__name__}: {error}"}
        else:
            outcome = future.result()
        if self._ended_from_outside(outcome):
            if not (self.exp.run_dir(plan) / folder.CONFIG).is_file():
                outcome = self._deleted(plan.name, outcome)
            elif outcome["state"] == "stopped":
                self.stopped_outside.append(plan.name)  # or being deleted: see _settle
        earlier = self.outcomes.get(plan.name) or {}
        if plan.name in self.retry and earlier.get("state") == "failed":
            previous = earlier.pop("earlier", [])
            outcome["earlier"] = [*previous, earlier]  # the failures before this try
        log.info("%s: %s %s", plan.name, outcome["state"], outcome.get("reason") or "")
        self.outcomes[plan.name] = outcome
        folder.write_json_atomic(self.exp.file(exp_folder.OUTCOMES), self.outcomes)
        self.open[number].discard(plan.name)
        if not self.open[number]:
            self._tell(number)

    def _ended_from_outside(self, outcome: dict[str, Any]) -> bool:
        """Whether a run ended neither by itself nor by the experiment's stop.

        A stopped run while the experiment is not stopping, or a failed one that left no
        status saying why (its folder deleted as it ended).
        """
        if self.stopping or self.exp.stop_requested():
            return False
        state = outcome.get("state")
        return state == "stopped" or (state == "failed" and not outcome.get("reason"))

    def _deleted(self, name: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """The outcome of a run whose folder was deleted while it ran."""
        self.deleted.append(name)
        reason = "its run folder was deleted while the experiment ran"
        return {**outcome, "state": "deleted", "reason": reason}

    def _settle_outside_stops(self) -> None:
        """Tell the runs deleted from those stopped from outside, once all else is done.

        ``core.runs delete`` stops a running run first, waits for it, then removes its
        files: the run's task reports *stopped* before its folder goes. Its folder is
        watched for up to :data:`DELETE_WAIT_S`; one that goes was deleted.
        """
        deadline = time.monotonic() + DELETE_WAIT_S
        while self.stopped_outside and time.monotonic() < deadline:
            for name in list(self.stopped_outside):
                if not (self.exp.path / exp_folder.RUNS / name / folder.CONFIG).is_file():
                    self.stopped_outside.remove(name)
                    self.outcomes[name] = self._deleted(name, self.outcomes[name])
                    folder.write_json_atomic(self.exp.file(exp_folder.OUTCOMES), self.outcomes)
            time.sleep(POLL_S)

    def _tell(self, number: int) -> None:
        """Tell the study a configuration's objective, or that it failed; stopped: later."""
        import optuna

        cid = config_id(number)
        states = [(self.outcomes.get(p.name) or {}).get("state") for p in self.exp.plans(cid)]
        if any(s not in SUCCEEDED and s != "failed" for s in states):
            return  # stopped: the trial stays open for resume
        (entry,) = configuration_entries(self.exp, only=cid)
        if "failed" in states or entry["mean"] is None:
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, entry["mean"])

    def _stop(self) -> None:
        """Stop: no new trials; runs in progress checkpoint and exit; queued ones skip."""
        self.stopping = True
        for _, plan in self.futures.values():
            run_dir = self.exp.run_dir(plan)
            if (run_dir / folder.CONFIG).is_file():
                request_stop(run_dir)


def has_work(exp: Experiment, study: Any) -> bool:
    """Whether a trial is open (asked, not told) or more are to be asked."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    running = optuna.trial.TrialState.RUNNING
    return len(trials) < exp.spec.trials or any(t.state == running for t in trials)


def drive(
    exp_dir: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    requested_at: float | None = None,
    *,
    retry_failed: bool = True,
    allow_changed_data: bool = False,
) -> str:
    """Run (or carry on) an experiment to its end in this process.

    Parameters
    ----------
    exp_dir : str or pathlib.Path
        The experiment folder (:func:`core.experiment.folder.create`).
    workers : int, optional
        Local workers (default: as when the experiment was created); never more than
        this machine's cores without a scheduler (:func:`core.experiment.folder.local_workers`).
    scheduler : str, optional
        A Dask scheduler (``tcp://HOST:PORT``) instead of a local cluster.
    requested_at : float, optional
        When this driver was asked for (``time.time()``; default: now). A stop request
        written before it belongs to an earlier stop and is cleared; one written after
        it (a stop pressed while the driver was starting) is honoured: the experiment
        stops before any run starts.
    retry_failed : bool, default True
        Try again the runs an earlier driver recorded as failed (a full disk, a killed
        machine). Without it, only failed runs whose folder was deleted are tried again.
    allow_changed_data : bool, default False
        Carry on although the corpus changed since the experiment was created: every
        run trained on the old corpus is set aside (:func:`start_over_on_new_data`) and
        trained again; results on two versions of the data are never mixed.

    Returns
    -------
    str
        ``completed``, ``stopped`` or ``failed`` (every run ended and none succeeded).

    Raises
    ------
    core.errors.InvalidRequest
        Another driver is running the experiment, or the corpus changed since the
        experiment was created (without ``allow_changed_data``).
    """
    exp = Experiment(exp_dir)
    scheduler = scheduler if scheduler is not None else exp.setup.get("scheduler")
    asked = workers or int(exp.setup.get("workers") or exp_folder.default_workers())
    workers, capped = exp_folder.local_workers(asked, scheduler)
    notes = [capped] if capped else []
    if capped:
        log.warning("%s", capped)
    requested_at = time.time() if requested_at is None else requested_at
    with driver_lock(exp):
        changes = corpus_changes_since_created(exp)
        if changes and not allow_changed_data:
            refusal = changed_data_message(exp, changes)
            # Said where the dashboard looks too; the experiment is as it was: stopped.
            before = folder.read_json(exp.file(exp_folder.DRIVER)) or {}
            kept = before.get("state") if before.get("state") != "running" else None
            write_driver(exp, kept or "stopped", refusal, refused=time.time())
            raise InvalidRequest(refusal)
        try:
            request = folder.read_json(exp.file(exp_folder.STOP)) or {}
        except (OSError, ValueError):  # unreadable: as if written by an earlier stop
            request = {}
        if float(request.get("time", 0.0)) < requested_at:
            exp.file(exp_folder.STOP).unlink(missing_ok=True)  # left by an earlier stop
        write_driver(
            exp,
            "running",
            None,
            started=time.time(),
            workers=workers,
            scheduler=scheduler,
            notes=notes,
            deleted=[],
        )
        try:
            if changes:
                notes.append(start_over_on_new_data(exp, changes))
                exp = Experiment(exp.path)  # its folds are the new corpus's
            study = open_study(exp, notes)
            retry = runs_to_retry(exp, retry_failed)
            if retry:
                study = _reopen(exp, study, retry, notes)
            write_driver(exp, "running", None, notes=notes)
            state, deleted, outside = "completed", [], []
            work = has_work(exp, study)  # a finished experiment needs no cluster
            if work and exp.stop_requested():
                state = "stopped"  # asked to stop while this driver was starting
            elif work:
                with dask_client(workers, scheduler, gpu=uses_gpu(exp)) as client:
                    if scheduler:
                        workers = max(1, len(client.scheduler_info()["workers"]))
                    driver = Driver(exp, study, client, workers, retry)
                    state = driver.run()
                    deleted, outside = driver.deleted, driver.stopped_outside
        except BaseException as error:
            write_driver(exp, "failed", f"{type(error).__name__}: {error}", ended=time.time())
            raise
        state, reason = _ending(exp, state, deleted, outside)
        write_driver(exp, state, reason, ended=time.time(), deleted=deleted, **_counts(exp))
        return state


def _listed(names: list[str]) -> str:
    """``run c000-s0`` or ``runs c000-s0, c001-s0`` (five at most, then a count)."""
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"run{'s' if len(names) > 1 else ''} " + ", ".join(names[:5]) + more


def _ending(
    exp: Experiment, state: str, deleted: list[str], outside: list[str]
) -> tuple[str, str | None]:
    """The driver's final state and the reason it records."""
    if state == "stopped" and (deleted or outside) and not exp.stop_requested():
        said = []
        if deleted:
            said.append(
                f"{_listed(deleted)} {'were' if len(deleted) > 1 else 'was'} deleted while "
                f"the experiment ran (resume trains {'them' if len(deleted) > 1 else 'it'} again)"
            )
        if outside:
            said.append(
                f"{_listed(outside)} {'were' if len(outside) > 1 else 'was'} stopped from "
                f"outside the experiment (resume carries {'them' if len(outside) > 1 else 'it'} on)"
            )
        return "stopped", "not asked to stop: " + "; ".join(said)
    if state == "stopped":
        return state, "asked to stop; resume carries on"
    counts = _counts(exp)
    if state == "completed" and counts["runs_failed"] and not counts["runs_succeeded"]:
        return "failed", (
            f"all {counts['runs_failed']} runs failed (see each run's reason); "
            "resume tries them again"
        )
    return state, None


def _counts(exp: Experiment) -> dict[str, int]:
    """How many of the runs recorded so far succeeded and failed."""
    outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
    states = [(o or {}).get("state") for o in outcomes.values()]
    return {
        "runs_succeeded": sum(s in SUCCEEDED for s in states),
        "runs_failed": sum(s == "failed" for s in states),
    }


# --- retrying failed runs ---------------------------------------------------------------
def runs_to_retry(exp: Experiment, retry_failed: bool) -> set[str]:
    """The runs recorded as failed that this driver tries again.

    All of them with ``retry_failed``; otherwise those whose run folder was deleted
    (deleting a failed run is how one asks for it to be tried again).
    """
    outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
    failed = {name for name, o in outcomes.items() if (o or {}).get("state") == "failed"}
    if retry_failed:
        return failed
    runs = exp.path / exp_folder.RUNS
    return {name for name in failed if not (runs / name / folder.CONFIG).is_file()}


def _reopen(exp: Experiment, study: Any, retry: set[str], notes: list[str]) -> Any:
    """The study with the configurations of ``retry`` open again (rebuilt if they ended).

    Optuna cannot reopen a trial it was told had failed, so the study is rebuilt from
    the runs' own records (:func:`rebuild_study`), the old journal kept beside it.
    """
    import optuna

    configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
    reopen = {cid for cid in configurations if any(p.name in retry for p in exp.plans(cid))}
    trials = {config_id(t.number): t for t in study.get_trials(deepcopy=False)}
    running = optuna.trial.TrialState.RUNNING
    notes.append(f"trying again {len(retry)} failed run{'s' if len(retry) > 1 else ''}")
    if all(cid in trials and trials[cid].state == running for cid in reopen):
        return study
    return rebuild_study(exp, reopen)


# --- a changed corpus -------------------------------------------------------------------
def corpus_changes_since_created(exp: Experiment) -> list[str]:
    """What changed in the corpus since the experiment recorded its fingerprint.

    An experiment created before fingerprints were recorded compares as unchanged.
    """
    from core.kinds.fingerprint import corpus_changes

    saved = exp.setup.get("fingerprint")
    if not saved:
        return []
    return corpus_changes(saved, exp_folder.open_experiment_corpus(exp.spec, exp.setup))


def changed_data_message(exp: Experiment, changes: list[str]) -> str:
    """Why a resume on a changed corpus is refused, and the two ways on."""
    return (
        f"{exp.path}: the corpus changed since the experiment was created "
        f"({'; '.join(changes)}), so its finished runs and the ones still to train would "
        "not have seen the same data. Resume with --allow-changed-data to set every run "
        "aside and train them all again on the corpus as it is now, or create a new "
        "experiment (another --out)"
    )


def start_over_on_new_data(exp: Experiment, changes: list[str]) -> str:
    """Set aside every run trained on the old corpus; record the new one's folds.

    ``runs/``, ``configs/``, ``outcomes.json``, ``experiment.json`` and the study go to
    ``superseded/STAMP/`` (kept, never deleted); ``experiment.json`` is written again
    with the corpus's new fingerprint and folds; the configurations asked so far keep
    their IDs and parameters and are trained again. Returns a note saying so.
    """
    aside = exp.path / SUPERSEDED / time.strftime("%Y%m%d-%H%M%S")
    aside.mkdir(parents=True)
    for name in (exp_folder.RUNS, exp_folder.CONFIGS, exp_folder.OUTCOMES, exp_folder.STUDY):
        if (exp.path / name).exists():
            (exp.path / name).rename(aside / name)
    shutil.copyfile(exp.file(exp_folder.SETUP), aside / exp_folder.SETUP)
    (exp.path / exp_folder.CONFIGS).mkdir()
    (exp.path / exp_folder.RUNS).mkdir()
    setup = {
        **exp.setup,
        "folds": exp_folder.make_folds(exp.spec, exp.setup.get("data_root")),
        "fingerprint": exp_folder.experiment_fingerprint(exp.spec, exp.setup.get("data_root")),
        "data_changed": time.time(),
    }
    folder.write_json_atomic(exp.file(exp_folder.SETUP), setup)
    rebuild_study(Experiment(exp.path), set_aside=False)
    return (
        f"the corpus changed ({'; '.join(changes)}): every run was set aside in "
        f"{aside.relative_to(exp.path)} and is trained again on the corpus as it is now"
    )
