"""``python -m core.train``: train or resume one run (the dashboard runs this same code).

Usage::

    python -m core.train {text,audio,face,fusion} [--data ROOT] [--run-dir DIR]
                         [--max-epochs N] [--seed S] [--<hyper-parameter> VALUE ...]
    python -m core.train --resume RUN_DIR [--max-epochs N | --more-epochs K] [--patience P]
                         [--threads T] [--allow-changed-data]

Every hyper-parameter of :mod:`core.hparams` is an option (``--hidden-size 64``); its
help shows the default and the allowed range or choices, and a value outside them is
refused. A resumed run may train up to the epoch cap *beyond* where it stopped; an
early-stopped one gets its early-stopping counter reset (see
:func:`core.training.early_stopping.resumed_state`). ``--resume`` refuses every option
that belongs to a new run (``--data``, ``--seed``, another hyper-parameter, ...) rather
than ignore it, and refuses a corpus (or a fusion's source run) that changed since the
run's last checkpoint unless ``--allow-changed-data`` is given. Without ``--threads`` a
run gets the run manager's share of the cores
(:func:`core.runs.manager.threads_for_new_run`). Exit status: 0 for a run that
completed, stopped early or was stopped on request; 1 when it failed, in set-up or in
training (the exception's type and message are in ``status.json``, the traceback in
the log); 2 for bad arguments, refused before a run folder is created (a ``--device``
this machine does not have, such as ``cuda`` without a GPU), or a folder that cannot be
written (read-only: :func:`core.errors.report` says which and what to do).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from core import hparams
from core.config import make_config
from core.errors import report, run_command
from core.files import temporary_path
from core.kinds import KINDS, get_kind, source_modalities
from core.runs import folder
from core.runs.cleanup import remove_leftovers
from core.runs.folder import read_config
from core.runs.manager import threads_for_new_run
from core.runs.state import ACTIVE, RunState
from core.runs.supervisor import RunBusy, take_training_lock

log = logging.getLogger("core.train")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


RESUME_OPTIONS = ("max_epochs", "patience")
"""Hyper-parameters a resumed run may change; the others belong to a new run."""
NEW_RUN_OPTIONS = ("data", "run_dir", "runs_root", "config", "seed") + tuple(
    f"{m}_run" for m in source_modalities()
)
"""Options that only a new run takes: ``--resume`` refuses them instead of ignoring them."""
SEED_RANGE = (0, 2**32 - 1)


def _checked(h: hparams.HParam, upper: bool = True) -> Callable[[str], Any]:
    """An argparse type that validates with the hyper-parameter table itself.

    ``upper=False`` leaves the top of the range to be checked later (``--max-epochs``:
    a resumed run's cap counts from where it stopped).
    """
    checked = h if upper else dataclasses.replace(h, high=None)

    def parse(text: str) -> Any:
        try:
            return checked.parse(text, "invalid value")
        except ValueError as error:
            message = str(error)
        try:  # say the whole range (1 to 500), even where its top is checked later
            h.parse(text, "invalid value")
        except ValueError as error:
            message = str(error)
        raise argparse.ArgumentTypeError(message)

    return parse


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number from ``low`` to ``high``."""
    return _checked(
        hparams.HParam(
            name="", section="", default=low, modalities=(), kind="int", low=low, high=high
        )
    )


def _folder(text: str) -> str:
    """An argparse type for a folder that must exist."""
    if not Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return text


def _metavar(h: hparams.HParam) -> str:
    if h.kind == "choice":
        return "{" + ",".join(h.choices) + "}"
    return {"multi": "SET,SET", "bool": "BOOL"}.get(h.kind, h.kind.upper())


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, with one validated option per hyper-parameter."""
    parser = argparse.ArgumentParser(
        prog="python -m core.train",
        description=__doc__.split("\n")[0],
        epilog="Every hyper-parameter shows its default and allowed values; a value outside "
        "them stops the command with exit status 2.",
    )
    parser.add_argument("modality", nargs="?", choices=tuple(KINDS))
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a stopped or finished run; it takes only --max-epochs or "
        "--more-epochs, --patience, --threads and --allow-changed-data (an early-stopped "
        "run gets its early-stopping counter reset)",
    )
    parser.add_argument(
        "--allow-changed-data",
        action="store_true",
        help="with --resume: continue even if the corpus (its label files, participants "
        "or session files) or a fusion's source run changed since the last checkpoint",
    )
    parser.add_argument(
        "--more-epochs",
        metavar="K",
        type=_whole(1, int(hparams.by_name("max_epochs").bounds()[1])),
        help="with --resume: train K more epochs from where the run stopped "
        f"(1 to {hparams.by_name('max_epochs').high:g})",
    )
    parser.add_argument(
        "--data", metavar="ROOT", type=_folder, help="corpus root (default: bundled sample)"
    )
    parser.add_argument("--run-dir", metavar="DIR", help="the run's folder (default: new one)")
    parser.add_argument(
        "--runs-root",
        metavar="DIR",
        help="where new run folders go (default: $DAIC_RUNS_ROOT or checkpoints/)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="a configuration written by the run manager"
    )
    parser.add_argument(
        "--seed",
        type=_whole(*SEED_RANGE),
        help=f"the run's one seed (default: 0; allowed range {SEED_RANGE[0]} to {SEED_RANGE[1]})",
    )
    parser.add_argument(
        "--threads",
        type=_whole(1),
        help="CPU threads for torch (default: the run manager's share of the cores: "
        "(cores - 1) // (active runs + 1), at least 1)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--managed",
        action="store_true",
        help="started by the run manager, which has checked the run and cleared its stop "
        "request; a set-up failure is recorded in the run's status",
    )
    for m in source_modalities():
        parser.add_argument(
            f"--{m}-run", metavar="RUN_DIR", type=_folder, help=f"fusion: the {m} run to use"
        )
    for h in hparams.HPARAMS:
        parser.add_argument(
            _option(h.name),
            type=_checked(h, upper=h.name != "max_epochs"),
            default=None,
            metavar=_metavar(h),
            help=f"{'/'.join(h.modalities)}: {h.describe()}",
        )
    return parser


def _values(args: argparse.Namespace, modality: str) -> dict[str, Any]:
    """Hyper-parameters given on the command line that apply to ``modality``."""
    given = {h.name: getattr(args, h.name) for h in hparams.HPARAMS}
    given = {k: v for k, v in given.items() if v is not None}
    allowed = {h.name for h in hparams.for_modality(modality)}
    wrong = sorted(set(given) - allowed)
    if wrong:
        options = ", ".join(_option(w) for w in wrong)
        raise ValueError(f"{modality} runs do not take {options}")
    for name, value in given.items():  # the full range, naming the option
        hparams.by_name(name).parse(value, _option(name))
    return given


def _resume_settings(args: argparse.Namespace, config: dict[str, Any], run_dir: Path) -> None:
    """Apply ``--max-epochs``/``--more-epochs`` and ``--patience`` to a resumed run's config.

    Raises
    ------
    ValueError
        A modality or another hyper-parameter given with ``--resume``, or an epoch count
        out of range.
    """
    if args.modality:
        raise ValueError("give a modality for a new run or --resume RUN_DIR, not both")
    extra = [h.name for h in hparams.HPARAMS if h.name not in RESUME_OPTIONS]
    given = [
        _option(name) for name in (*NEW_RUN_OPTIONS, *extra) if getattr(args, name) is not None
    ]
    if given:
        verb = "belongs" if len(given) == 1 else "belong"
        raise ValueError(
            f"--resume takes only --max-epochs or --more-epochs, --patience, --threads and "
            f"--allow-changed-data; {', '.join(given)} {verb} to a new run (the resumed run "
            "keeps its own)"
        )
    training = config["training"]
    training["max_epochs"] = hparams.resume_epochs(
        len(folder.read_metrics(run_dir)),
        training["max_epochs"],
        args.max_epochs,
        args.more_epochs,
        labels=("--max-epochs", "--more-epochs"),
    )
    if args.patience is not None:
        training["patience"] = args.patience


_HELD: list[FileLock] = []
"""The training lock of the run this process trains (released when :func:`main` returns)."""


def _hold(run_dir: Path) -> None:
    _HELD.append(take_training_lock(run_dir))


def _release() -> None:
    while _HELD:
        _HELD.pop().release()


def _check_writable(run_dir: Path) -> None:
    """Raise ValueError, saying what to do, when nothing can be written in ``run_dir``."""
    # Named as a status write's temporary file: cleared and deleted like one if left.
    probe = temporary_path(run_dir / folder.STATUS)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise ValueError(
            f"{run_dir} is read-only ({error.strerror}): resuming writes the run's "
            "checkpoints, metrics and status there; make the folder writable, or copy "
            "the run to a writable folder and resume the copy"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _changed_since_checkpoint(run_dir: Path, config: dict[str, Any]) -> list[str]:
    """What changed in the run's corpus or sources since its latest checkpoint, in words.

    A checkpoint or a corpus that cannot be read is left to the training, which fails
    with its own error (recorded in the run's status).
    """
    from core.config import open_corpus
    from core.data import DataError
    from core.kinds.fingerprint import corpus_changes, source_changes
    from core.training.checkpoint import CheckpointError, load_checkpoint

    try:
        saved = load_checkpoint(run_dir / folder.LATEST, map_location="cpu")["config"]
        corpus = open_corpus(config)
    except (CheckpointError, DataError):
        return []
    changes = corpus_changes((saved.get("data") or {}).get("fingerprint"), corpus)
    return changes + list(source_changes(saved.get("source_models")).values())


def _resumed_run(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    """The configuration and folder of ``--resume RUN_DIR``, with its resume settings."""
    run_dir = Path(args.resume)
    config = read_config(run_dir)
    get_kind(config).check_resumable(config)
    _check_writable(run_dir)
    _hold(run_dir)
    if not args.managed:  # the run manager checks this itself
        from core.runs.status import read_status

        if read_status(run_dir).get("state") in ACTIVE:
            raise ValueError(f"{run_dir} is still running; python -m core.runs stop it first")
    _resume_settings(args, config, run_dir)
    if (run_dir / folder.LATEST).exists() and not args.allow_changed_data:
        if changes := _changed_since_checkpoint(run_dir, config):
            raise ValueError(
                f"{run_dir} was trained on other data: {'; '.join(changes)}. Resuming would "
                "mix the two; start a new run, or give --allow-changed-data to resume anyway"
            )
    if removed := remove_leftovers(run_dir):
        log.info("removed %d temporary files of interrupted writes: %s", len(removed), removed)
    folder.write_config(run_dir, config)
    if not args.managed:  # the run manager clears it itself
        (run_dir / folder.STOP_REQUEST).unlink(missing_ok=True)  # left by a past stop
    # With finished epochs on record a missing checkpoint is an error, not a restart.
    saved = (run_dir / folder.LATEST).exists() or bool(folder.read_metrics(run_dir))
    return config, run_dir, saved


def _new_config(args: argparse.Namespace) -> dict[str, Any]:
    """A new run's configuration: from ``--config`` or from the modality and options."""
    if args.config:
        config = folder.read_json(Path(args.config))
        if not isinstance(config, dict) or "modality" not in config:
            raise ValueError(f"{args.config} is not a run configuration")
        for h in hparams.for_modality(get_kind(config).name):  # ranges; no nan, no inf
            value = (config.get(h.section) or {}).get(h.name)
            if value is not None:
                h.parse(value, f"{args.config}: {h.section}.{h.name}")
        return config
    if not args.modality:
        raise ValueError("name a modality (text, audio, face, fusion) or --resume RUN_DIR")
    sources: dict[str, Any] | None
    sources = {m: getattr(args, f"{m}_run") for m in source_modalities()}
    if not get_kind(args.modality).sources:
        if given := [f"--{m}-run" for m, run_dir in sources.items() if run_dir]:
            raise ValueError(f"{args.modality} runs do not take {', '.join(given)}")
        sources = None
    values = _values(args, args.modality)
    seed = 0 if args.seed is None else args.seed
    return make_config(args.modality, args.data, values, seed, sources)


def _check_device(config: dict[str, Any]) -> None:
    """Refuse a device this machine does not have (``--device cuda`` without a GPU).

    Raises
    ------
    ValueError
        The device is not available; the message says what to choose instead.
    """
    device = (config.get("training") or {}).get("device")
    if device in (None, "auto", "cpu"):
        return
    from core.training.device import choose_device

    choose_device(device)


def _prepare_run(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    """Work out the configuration and run folder; write config.json for a new run."""
    if args.resume:
        return _resumed_run(args)
    if args.more_epochs is not None:
        raise ValueError("--more-epochs goes with --resume RUN_DIR; a new run takes --max-epochs")
    if args.allow_changed_data:
        raise ValueError("--allow-changed-data goes with --resume RUN_DIR")
    runs_root = Path(args.runs_root or folder.runs_root())
    config = _new_config(args)
    _check_device(config)  # before any folder is created: a refused run leaves nothing
    if get_kind(config).sources:
        from core.kinds.sources import resolve_sources

        config["sources"] = resolve_sources(config, runs_root, run)
    if args.run_dir:
        run_dir = Path(args.run_dir)
        if (run_dir / folder.CONFIG).exists() and not args.config:
            raise ValueError(f"{run_dir} already holds a run; use --resume {run_dir}")
        if not args.config and run_dir.is_dir() and any(run_dir.iterdir()):
            raise ValueError(
                f"{run_dir} is not empty and holds no run: give a new or empty folder "
                "(a run's files would be mixed with what is there)"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = folder.new_run_dir(runs_root, config["modality"])
    _hold(run_dir)
    remove_leftovers(run_dir)
    folder.write_config(run_dir, config)
    folder.write_status(run_dir, RunState.STARTING, None, modality=config["modality"])
    return config, run_dir, False


def run(config: dict[str, Any], run_dir: Path, resume: bool, progress: bool) -> str:
    """Train one configuration in ``run_dir``, then evaluate its best model; return the final state.

    The evaluation (dev, and test where labelled) is saved in the run folder before the
    process exits; it never changes the state (:func:`core.evaluate.evaluate_finished_run`).

    Raises
    ------
    RunFolderGone
        The run folder was deleted while the run trained (nothing is recreated).
    Exception
        Whatever failed the run, once its status says why.
    """
    try:
        state = get_kind(config).train(config, run_dir, resume=resume, progress=progress)
    except Exception as error:  # noqa: BLE001 - re-raised once the run folder says why
        if not (run_dir / folder.CONFIG).is_file():  # deleted, or being deleted
            from core.kinds.neural_run import FOLDER_GONE

            raise RunFolderGone(f"{run_dir}: {FOLDER_GONE}; the run ended") from error
        _record_failure(run_dir, error, training=True)
        raise
    from core.evaluate import evaluate_finished_run

    evaluate_finished_run(run_dir)  # logs instead of raising: a completed run stays completed
    return state


class RunFolderGone(FileNotFoundError):
    """The run folder was deleted from outside while the run trained."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a bad argument (argparse printed why)
        return int(exit_.code or 0)
    try:
        return run_command(_main, args, default_status=2)
    finally:
        _release()


def _main(args: argparse.Namespace) -> int:
    try:
        config, run_dir, resume = _prepare_run(args)
    except RunBusy as error:  # the run is someone else's: its files stay as they are
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        _record_failure(args.resume or args.run_dir, error, False, args.managed)
        return 2
    except Exception as error:  # noqa: BLE001 - set-up failed: the status must say why
        if isinstance(error, OSError) and (status := report(error)) is not None:
            return status  # a read-only folder: said in one line, and nothing to record in
        traceback.print_exc()
        _record_failure(args.resume or args.run_dir, error, False, args.managed)
        return 1
    # This process now owns the run.
    threads = args.threads or threads_for_new_run(run_dir.parent, exclude=run_dir)
    folder.write_status(run_dir, RunState.STARTING, None, threads=threads)
    import torch

    torch.set_num_threads(threads)
    handlers: list[logging.Handler] = [
        logging.FileHandler(run_dir / folder.LOG, encoding="utf-8"),
        logging.StreamHandler(),
    ]
    root_logger = logging.getLogger()
    root_logger.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root_logger.addHandler(handler)
    try:
        return _train_and_report(config, run_dir, resume, progress=not args.quiet)
    finally:
        for handler in handlers:
            root_logger.removeHandler(handler)
            handler.close()


def failure_reason(error: BaseException) -> str:
    """How a status records an exception: ``DataError: 312_COVAREP.csv: ...``.

    A full disk reads ``no space left on device (writing FILE): ...``, whatever layer
    raised it, and says what to do.
    """
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" (writing {error.filename})" if error.filename else ""
        return f"no space left on device{where}: free some space, then resume the run"
    return f"{type(error).__name__}: {error}"


UNENDED = frozenset({RunState.STARTING, RunState.RUNNING, RunState.FAILED})
"""The states in which the run this process trains takes its failure (_record_failure)."""


def _record_failure(
    run_dir: str | Path | None, error: BaseException, training: bool, managed: bool = False
) -> None:
    """Record a run failed, with the real error, when this process could not train it.

    One rule, whether set-up or training failed: only this process's run is changed,
    and only while it has not ended some other way. A run is this process's when it
    trains it (holding its training lock: its status says *starting*, *running* or
    already *failed*, whose reason becomes this one) or when it is still *starting* for
    it (the run manager set it up for this process, or this process wrote the status).
    A bad ``--resume`` of someone else's run, or of a run that ended, leaves it alone; an
    unreadable status of this process's run is replaced; a status that cannot be
    written (a full disk) is logged, never raised over the error itself.

    Parameters
    ----------
    run_dir : str or pathlib.Path or None
        The run folder; None (no folder yet) records nothing.
    error : BaseException
        What failed the run (:func:`failure_reason` words it).
    training : bool
        This process trains the run (the failure came from training, not set-up).
    managed : bool, default False
        The run manager set the run up for this process (``--managed``).
    """
    if not run_dir:
        return
    path, reason = Path(run_dir) / folder.STATUS, failure_reason(error)
    try:
        status = folder.read_json(path) or {}
        state = status.get("state")
        ours = (training and state in UNENDED) or (
            state == RunState.STARTING and (managed or status.get("pid") == os.getpid())
        )
    except ValueError:  # cut short: replaced when the run is known to be ours
        status, ours = {}, training or managed
    if not ours or (status.get("state"), status.get("reason")) == (RunState.FAILED, reason):
        return
    try:
        folder.write_status(Path(run_dir), RunState.FAILED, reason)
    except (OSError, ValueError) as problem:  # a full disk may refuse even the status
        log.error("could not record the failure in %s: %s", path, problem)


def _train_and_report(config: dict[str, Any], run_dir: Path, resume: bool, progress: bool) -> int:
    log.info("%s %s run in %s", "resuming" if resume else "starting", config["modality"], run_dir)
    if "torch" in sys.modules:
        log.info("torch uses %d CPU threads", sys.modules["torch"].get_num_threads())
    try:
        state = run(config, run_dir, resume, progress=progress)
    except Exception as error:  # noqa: BLE001 - any failure must end in a failed status
        reason = failure_reason(error)
        log.error("run failed: %s\n%s", reason, traceback.format_exc())
        return 1  # run() has recorded the failure in the run's status
    status = folder.read_json(run_dir / folder.STATUS) or {}
    log.info("run %s: %s", state, status.get("reason"))
    print(run_dir)
    return 1 if state == RunState.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
