"""The run folder: the files that the trainer writes and that every reader polls.

A run is one folder::

    config.json            what was asked for (modality, hyper-parameters, data)
    status.json            state (:class:`core.runs.state.RunState`), reason, when it
                           was written (``heartbeat``), process ID and create time
    metrics.jsonl          one JSON object per finished epoch
    latest_checkpoint.pth  every epoch
    best_model.pth         on improvement
    train.log              the training process's log
    process.log            everything the process printed (runs started by the manager)
    launcher.json          process ID, create time and CPU threads of the process the
                           manager started last for this run
    stop.request           present when someone asked the run to stop
    .lock                  file lock (:mod:`filelock`) the run manager holds while it
                           changes the status

Every file a reader polls is replaced atomically (:func:`atomic_write`: a temporary
file, fsync, rename), so a reader never sees half a file and a run killed at any instant
leaves the previous version in place. ``metrics.jsonl`` is the one append-only file:
each line is written with one ``write`` call, readers ignore a last line without its
newline, and a resumed run rewrites the file from its checkpoint's history.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from core.runs.process import start_time
from core.runs.schema import RunFileError, check_config, check_record, check_status
from core.runs.state import RunState

CONFIG = "config.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
LATEST = "latest_checkpoint.pth"
BEST = "best_model.pth"
LOG = "train.log"
PROCESS_LOG = "process.log"
STOP_REQUEST = "stop.request"
LAUNCHER = "launcher.json"
TRAINING_LOCK = ".train.lock"
RUN_LOCK = ".lock"
"""The run lock the supervisor holds while it changes a run (core.runs.supervisor)."""
EVALUATION = "evaluation.json"
"""Participant-level dev and test results, written once when the run ends."""
TEXT_MODEL = "text_model.skops"
TEXT_MODEL_INFO = "model.json"
TEXT_OOF = "train_oof.json"
"""Text runs: the fitted pipeline, its file name and sha256, out-of-fold probabilities."""
"""Held (filelock) by the one process training the run, for as long as it runs."""
DEFAULT_RUNS_ROOT = Path(__file__).resolve().parents[2] / "checkpoints"
RUN_FILES = frozenset(
    {
        CONFIG,
        STATUS,
        METRICS,
        LATEST,
        BEST,
        LOG,
        PROCESS_LOG,
        STOP_REQUEST,
        LAUNCHER,
        RUN_LOCK,
        TRAINING_LOCK,
        EVALUATION,
        TEXT_MODEL,
        TEXT_MODEL_INFO,
        TEXT_OOF,
        "heartbeat",  # written by versions before run liveness came from psutil
        "evaluation_dev.json",  # the Runs page's evaluation cache of an older version
    }
)
"""Every file a run of any kind writes in its folder: deleting a run removes only these."""

RUNS_ROOT_ENV = "DAIC_RUNS_ROOT"


def runs_root() -> Path:
    """Where runs live: ``$DAIC_RUNS_ROOT`` when set, else the repository's ``checkpoints/``.

    The dashboard, ``core.train``, ``core.runs`` and ``core.experiment`` all default to
    this, so a run started anywhere is listed everywhere.
    """
    return Path(os.environ.get(RUNS_ROOT_ENV) or DEFAULT_RUNS_ROOT)


def _json_default(value: Any) -> Any:
    """Make numpy scalars and paths JSON-serialisable."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def atomic_write(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Replace the text file ``path`` so that readers see the old file or the new one.

    Parameters
    ----------
    path : pathlib.Path
        The file to replace.
    write : callable
        Writes the new content to the open text handle it is given.

    Notes
    -----
    The content goes to a temporary file beside ``path``, is flushed to disk, and is
    renamed over ``path``; on any error the temporary file is removed and the old file
    stays as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` with :func:`atomic_write`."""
    atomic_write(path, lambda handle: json.dump(payload, handle, indent=1, default=_json_default))


def read_json(path: Path) -> Any:
    """Read a JSON file; None when it does not exist."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def read_run_file(path: Path) -> Any:
    """Read one JSON run file; None when it does not exist.

    Raises
    ------
    core.runs.schema.RunFileError
        The file is not JSON (cut short, edited, or not text); the message names it.
    """
    try:
        return read_json(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise RunFileError(Path(path).name, f"is not valid JSON ({error})") from None


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """Read a run's ``config.json``, checked (:func:`core.runs.schema.check_config`).

    Raises
    ------
    FileNotFoundError
        The folder holds no configuration (not a run folder).
    core.runs.schema.RunFileError
        It is not JSON, or a field has the wrong type (also a ``ValueError``).
    """
    config = read_run_file(Path(run_dir) / CONFIG)
    if config is None:
        raise FileNotFoundError(f"{run_dir}: no {CONFIG}; is this a run folder?")
    return check_config(config)


def write_config(run_dir: str | Path, config: dict[str, Any]) -> None:
    """Replace a run's ``config.json`` (atomically, see :func:`atomic_write`)."""
    write_json_atomic(Path(run_dir) / CONFIG, config)


EXPERIMENTS = "experiments"
"""The runs root's folder of experiments: ``experiments/NAME/<group>/<run>`` are runs too."""


def run_folders(root: Path) -> list[Path]:
    """Every run folder under a runs root, sorted: its own, and its experiments' runs.

    A run folder is a folder holding ``config.json``: one directly under ``root``, or one
    of an experiment's groups of runs (``experiments/NAME/runs/c000-s0-f1``,
    ``experiments/NAME/promotion/...``). Nothing else is looked into.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / CONFIG).is_file()]
    found += [p for p in root.glob(f"{EXPERIMENTS}/*/*/*") if (p / CONFIG).is_file()]
    return sorted(found)


def run_name(run_dir: Path) -> str:
    """A run's name, unique under its runs root.

    A run directly under the root is named by its folder; an experiment's run by the
    experiment and its folder (``audio-hidden-size/c000-s0-f1``; a promotion's runs as
    ``audio-hidden-size/promotion/...``).
    """
    run_dir = Path(run_dir)
    group, experiment = run_dir.parent, run_dir.parent.parent
    if experiment.parent.name != EXPERIMENTS:
        return run_dir.name
    if group.name == "runs":
        return f"{experiment.name}/{run_dir.name}"
    return f"{experiment.name}/{group.name}/{run_dir.name}"


def new_run_dir(root: Path, modality: str) -> Path:
    """Create and return a fresh, uniquely named run folder under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = root / f"{modality}-{stamp}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RuntimeError(f"could not create a unique run folder under {root}")


def write_status(
    run_dir: Path, state: str, reason: str | None = None, owner: bool = True, **extra: Any
) -> dict:
    """Replace ``status.json`` with a new state, dated in its ``heartbeat`` field.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    state : str
        A :class:`core.runs.state.RunState` value.
    reason : str, optional
        Why the run is in this state.
    owner : bool, default True
        The caller is the run's own process: its ID and create time are recorded so that
        readers can tell whether the run still lives. Others (the manager marking a dead
        run failed) pass False and keep the recorded process.
    **extra
        More fields (epoch, max_epochs, ...).

    Notes
    -----
    The fields of the previous status are kept, unless it cannot be read (cut short,
    or a field of the wrong type): then it is replaced as a whole.
    """
    if state not in set(RunState):
        raise ValueError(f"unknown run state {state!r}; expected one of {list(RunState)}")
    try:  # a status that cannot be read is replaced, so the run can always be resumed
        previous = check_status(read_run_file(Path(run_dir) / STATUS) or {})
    except RunFileError:
        previous = {}
    status = {**previous, **extra, "state": state, "reason": reason, "heartbeat": time.time()}
    status["owned"] = owner
    if owner:
        status["pid"] = os.getpid()
        status["proc_start"] = start_time(os.getpid())
    status.setdefault("started", status["heartbeat"])
    write_json_atomic(Path(run_dir) / STATUS, status)
    return status


def append_metrics(run_dir: Path, record: dict) -> None:
    """Append one epoch's record to ``metrics.jsonl`` as a single durable line."""
    line = json.dumps(record, default=_json_default) + "\n"
    with open(Path(run_dir) / METRICS, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def rewrite_metrics(run_dir: Path, records: list[dict]) -> None:
    """Replace ``metrics.jsonl`` with exactly ``records`` (used when a run resumes)."""
    lines = "".join(json.dumps(record, default=_json_default) + "\n" for record in records)
    atomic_write(Path(run_dir) / METRICS, lambda handle: handle.write(lines))


class MetricsReader:
    """Incremental reader of one run's ``metrics.jsonl``.

    Each :meth:`poll` reads only the bytes added since the previous one. When the file
    was replaced or shrank (a resumed run rewrites it from its checkpoint) the reader
    starts over: that poll returns every record again and :attr:`records` is rebuilt, so
    a caller that draws curves should use :attr:`records`, not add up what polls return.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS
        self.records: list[dict] = []
        self.problems: list[str] = []
        self._inode: int | None = None
        self._offset = 0
        self._lines = 0

    def poll(self) -> list[dict]:
        """Read what is new; return the records added by this call.

        A line that is not a JSON object, or whose fields have the wrong types (a
        hand-edited file), is skipped, not raised; :attr:`problems` says why, naming
        the line.
        """
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if stat.st_ino != self._inode or stat.st_size < self._offset:
                    self._inode, self._offset, self.records = stat.st_ino, 0, []
                    self.problems, self._lines = [], 0
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            self._inode, self._offset, self.records, self.problems = None, 0, [], []
            self._lines = 0
            return []
        end = data.rfind(b"\n") + 1  # a partial last line waits for the next poll
        new = []
        for line in data[:end].splitlines():
            self._lines += 1
            try:
                if record := _parse(line, f"{METRICS} line {self._lines}"):
                    new.append(record)
            except RunFileError as error:
                self.problems.append(str(error))
        self._offset += end
        self.records.extend(new)
        return new


def _parse(line: bytes, where: str) -> dict | None:
    """One metrics line as a checked record; None for a blank line.

    Raises
    ------
    core.runs.schema.RunFileError
        The line is not a JSON object, or a field has the wrong type.
    """
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        raise RunFileError(where, "is not valid JSON") from None
    return check_record(record, where)


def read_metrics(run_dir: Path) -> list[dict]:
    """All complete epoch records of a run (empty when there are none yet)."""
    return MetricsReader(run_dir).poll()


def log_tail(run_dir: Path, lines: int = 25) -> str:
    """The last lines of a run's log, for a reader who wants to see why it failed.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    lines : int, default 25
        How many lines.

    Returns
    -------
    str
        The end of ``train.log`` or ``process.log``, whichever was written last (a run
        that fails before its log is opened leaves its traceback only in the process
        output); ``"(no log written)"`` when there is neither.
    """
    logs = []
    for name in (LOG, PROCESS_LOG):
        try:
            logs.append(((Path(run_dir) / name).stat().st_mtime, name))
        except OSError:
            continue
    if not logs:
        return "(no log written)"
    path = Path(run_dir) / max(logs)[1]
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - 400 * lines))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def temporary_part(name: str) -> str | None:
    """The middle of a run file's temporary name (``.status.json.<middle>.tmp``), else None.

    Every run file is written through such a temporary file beside it
    (:func:`atomic_write`, the checkpoint writer; the text model's has no leading dot);
    deleting a run and clearing the leftovers of interrupted writes both recognise them
    here.
    """
    if not name.endswith(".tmp"):
        return None
    for run_file in RUN_FILES:
        prefix = f".{run_file}." if name.startswith(".") else f"{run_file}."
        if name.startswith(prefix) and len(name) > len(prefix) + len(".tmp"):
            return name[len(prefix) : -len(".tmp")]
    return None


def _is_run_file(name: str) -> bool:
    """A file a run writes, or the temporary file of an interrupted write of one."""
    return name in RUN_FILES or temporary_part(name) is not None


def foreign_entries(run_dir: Path) -> list[str]:
    """What ``run_dir`` holds that no run writes: folders, links and other files (sorted).

    Parameters
    ----------
    run_dir : pathlib.Path
        A run folder.

    Returns
    -------
    list of str
        Entry names; empty when the folder holds only what a run writes.
    """
    foreign = []
    for entry in Path(run_dir).iterdir():
        if entry.is_symlink() or not entry.is_file() or not _is_run_file(entry.name):
            foreign.append(entry.name)
    return sorted(foreign)
