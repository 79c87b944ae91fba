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
LOCK_WAIT_S = 10.0
"""How long a new driver waits for one that is just ending (a resume right after a stop)."""
CONNECT_TIMEOUT_S = 10.0
"""How long the driver waits for a ``--scheduler`` to answer before saying none does."""
SCHEDULER_SCHEMES = ("tcp", "tls")
"""The protocols of a scheduler address this project documents (docs/scale-out.md)."""
REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository folder: what the scheduler and the workers must be able to import."""


# --- the study ------------------------------------------------------------------------
def open_study(exp: Experiment) -> Any:
    """The experiment's Optuna study (journal file in its folder), created if missing."""
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

    Parameters
    ----------
    exp : Experiment
        The experiment.
    study : optuna.Study
        Its study.
    client : distributed.Client
        Where the runs go.
    workers : int
        How many workers share the work (paces TPE's asks).
    """

    def __init__(self, exp: Experiment, study: Any, client: Any, workers: int) -> None:
        self.exp, self.study, self.client, self.workers = exp, study, client, workers
        self.configurations = folder.read_json(exp.file(exp_folder.CONFIGURATIONS)) or {}
        self.outcomes = folder.read_json(exp.file(exp_folder.OUTCOMES)) or {}
        self.open: dict[int, set[str]] = {}  # trial number -> runs not yet ended
        self.futures: dict[Any, tuple[int, RunPlan]] = {}
        self.stopping = False
        self.resources = {"GPU": 1} if uses_gpu(exp) else None

    def run(self) -> str:
        """Drive the experiment; return its final state (completed or stopped)."""
        import optuna

        for trial in self.study.get_trials(deepcopy=False):
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
            if not self.futures:
                break
            if not done:
                time.sleep(POLL_S)
        return "stopped" if self.stopping or self._unfinished() else "completed"

    def _unfinished(self) -> bool:
        import optuna

        running = optuna.trial.TrialState.RUNNING
        return any(t.state == running for t in self.study.get_trials(deepcopy=False))

    def _ask_more(self) -> None:
        """Ask new trials: all at once for grid and random; TPE while workers are idle."""
        asked = len(self.study.get_trials(deepcopy=False))
        while asked < self.exp.spec.trials:
            if self.exp.spec.sampler == "tpe" and len(self.futures) >= self.workers:
                return
            trial = self.study.ask(distributions(self.exp))
            asked += 1
            self._submit_trial(trial.number, trial.params)

    def _submit_trial(self, number: int, params: dict[str, Any]) -> None:
        cid = config_id(number)
        if cid not in self.configurations:
            self.configurations[cid] = {"trial": number, "params": params}
            folder.write_json_atomic(self.exp.file(exp_folder.CONFIGURATIONS), self.configurations)
        self.open[number] = set()
        from core.experiment.task import run_task

        for plan in self.exp.plans(cid):
            if (self.outcomes.get(plan.name) or {}).get("state") == "failed":
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
        if future.status == "error":
            error = future.exception()
            outcome = {"state": "failed", "reason": f"{type(error).__name__}: {error}"}
        else:
            outcome = future.result()
        log.info("%s: %s %s", plan.name, outcome["state"], outcome.get("reason") or "")
        self.outcomes[plan.name] = outcome
        folder.write_json_atomic(self.exp.file(exp_folder.OUTCOMES), self.outcomes)
        self.open[number].discard(plan.name)
        if not self.open[number]:
            self._tell(number)

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
) -> str:
    """Run (or carry on) an experiment to its end in this process.

    Parameters
    ----------
    exp_dir : str or pathlib.Path
        The experiment folder (:func:`core.experiment.folder.create`).
    workers : int, optional
        Local workers (default: as when the experiment was created).
    scheduler : str, optional
        A Dask scheduler (``tcp://HOST:PORT``) instead of a local cluster.
    requested_at : float, optional
        When this driver was asked for (``time.time()``; default: now). A stop request
        written before it belongs to an earlier stop and is cleared; one written after
        it (a stop pressed while the driver was starting) is honoured: the experiment
        stops before any run starts.

    Returns
    -------
    str
        ``completed`` or ``stopped``.

    Raises
    ------
    core.errors.InvalidRequest
        Another driver is running the experiment.
    """
    exp = Experiment(exp_dir)
    workers = workers or int(exp.setup.get("workers") or exp_folder.default_workers())
    scheduler = scheduler if scheduler is not None else exp.setup.get("scheduler")
    requested_at = time.time() if requested_at is None else requested_at
    with driver_lock(exp):
        try:
            request = folder.read_json(exp.file(exp_folder.STOP)) or {}
        except (OSError, ValueError):  # unreadable: as if written by an earlier stop
            request = {}
        if float(request.get("time", 0.0)) < requested_at:
            exp.file(exp_folder.STOP).unlink(missing_ok=True)  # left by an earlier stop
        write_driver(
            exp, "running", None, started=time.time(), workers=workers, scheduler=scheduler
        )
        try:
            study = open_study(exp)
            state = "completed"
            work = has_work(exp, study)  # a finished experiment needs no cluster
            if work and exp.stop_requested():
                state = "stopped"  # asked to stop while this driver was starting
            elif work:
                with dask_client(workers, scheduler, gpu=uses_gpu(exp)) as client:
                    if scheduler:
                        workers = max(1, len(client.scheduler_info()["workers"]))
                    state = Driver(exp, study, client, workers).run()
        except BaseException as error:
            write_driver(exp, "failed", f"{type(error).__name__}: {error}", ended=time.time())
            raise
        reason = "asked to stop; resume carries on" if state == "stopped" else None
        write_driver(exp, state, reason, ended=time.time())
        return state
