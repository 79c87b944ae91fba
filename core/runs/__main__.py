"""``python -m core.runs``: list, stop, resume and delete training runs.

Usage::

    python -m core.runs list [--root DIR] [--json]
    python -m core.runs stop RUN_DIR [--timeout S]
    python -m core.runs resume RUN_DIR [--max-epochs N | --more-epochs K] [--patience P]
                               [--threads N] [--allow-changed-data]
    python -m core.runs delete RUN_DIR

The dashboard uses the same functions (:mod:`core.runs.manager`), and reads the same
folders, so what one shows the other shows. ``list --json`` prints one JSON array with,
per run, ``path``, ``name``, ``modality``, ``status``, ``reason``, ``epochs_done``,
``max_epochs``, ``best_val_loss`` and ``started``; listing changes nothing (a run whose
process died is shown failed), and a folder whose files cannot be read (a
``config.json`` cut short, a field of the wrong type: :mod:`core.runs.schema`) is listed
with status ``unreadable`` and the file and field in its reason, every other run as
usual. ``stop`` asks the run to stop, then sends SIGTERM and finally SIGKILL, and prints
the final state; it records a run whose process had already died as failed. The table
names an experiment's runs ``experiment/run`` (``sweep/c001-s0``, a promotion's
``sweep/promotion/c001-s0``), as the screens do. ``resume`` refuses, at once, a run that
another process is training. Exit status: 0 on success; 1 when the action could not be
done (the message says why); 2 for bad arguments, a run busy in another process, or a
folder that cannot be written (:func:`core.errors.report`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import run_command, seconds
from core.runs import folder, manager


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (one sub-command per action)."""
    parser = argparse.ArgumentParser(
        prog="python -m core.runs", description=__doc__.split("\n")[0].strip("`")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every run under a root, newest first")
    listing.add_argument(
        "--root", default=None, help="runs root folder (default: $DAIC_RUNS_ROOT or checkpoints/)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON array")
    stop = commands.add_parser("stop", help="stop a run and wait for its process to end")
    stop.add_argument("run_dir", metavar="RUN_DIR")
    stop.add_argument(
        "--timeout", type=seconds, default=30.0, help="seconds for a clean stop before signals"
    )
    resume = commands.add_parser("resume", help="continue a run in the background")
    resume.add_argument("run_dir", metavar="RUN_DIR")
    resume.add_argument("--max-epochs", type=int, help="new total number of epochs")
    resume.add_argument("--more-epochs", type=int, help="epochs to train beyond those done")
    resume.add_argument("--patience", type=int, help="a new early-stopping patience")
    resume.add_argument("--threads", type=int, help="CPU threads (default: a fair share)")
    resume.add_argument(
        "--allow-changed-data",
        action="store_true",
        help="resume even if the corpus or a fusion's source run changed since",
    )
    delete = commands.add_parser("delete", help="delete a run folder (stopping it first)")
    delete.add_argument("run_dir", metavar="RUN_DIR")
    return parser


def format_table(runs: list[manager.RunInfo]) -> str:
    """The runs as a plain-text table, one line per run.

    Parameters
    ----------
    runs : list of RunInfo
        From :func:`core.runs.manager.list_runs`.

    Returns
    -------
    str
        A header line, then name, modality, status, epochs done/asked, best validation
        loss and reason of each run.
    """
    header = ("NAME", "MODALITY", "STATUS", "EPOCHS", "BEST VAL LOSS", "REASON")
    rows = [header]
    for info in runs:
        epochs = f"{info.epochs_done}/{info.max_epochs if info.max_epochs else '?'}"
        best = "-" if info.best_val_loss is None else f"{info.best_val_loss:.4f}"
        name = folder.run_name(info.path)  # experiment/run, as the screens name it
        rows.append((name, info.modality, info.status, epochs, best, info.reason or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _describe(status: dict) -> str:
    reason = status.get("reason")
    return status.get("state", "?") + (f" ({reason})" if reason else "")


def main(argv: list[str] | None = None) -> int:
    """Entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: the command line).

    Returns
    -------
    int
        Exit status.
    """
    args = build_parser().parse_args(argv)
    expected: tuple[type[Exception], ...] = (ValueError, FileNotFoundError)
    if args.command == "delete":
        expected += (RuntimeError, OSError)
    return run_command(_act, args, expected=expected)


def _act(args: argparse.Namespace) -> int:
    if args.command == "list":
        root = Path(args.root) if args.root else folder.runs_root()
        runs = manager.list_runs(root)
        if args.json:
            print(json.dumps([info.as_dict() for info in runs], indent=1))
        elif runs:
            print(format_table(runs))
        else:
            print(f"no runs under {root}")
        return 0
    run_dir = Path(args.run_dir)
    if not (run_dir / "config.json").is_file():
        print(f"error: {run_dir} is not a run folder (no config.json)", file=sys.stderr)
        return 1
    if args.command == "stop":
        status = manager.stop_run(run_dir, timeout_s=args.timeout)
        print(f"{run_dir}: {_describe(status)}")
        return 1 if status.get("state") in manager.ACTIVE else 0
    if args.command == "resume":
        manager.resume_run(
            run_dir,
            max_epochs=args.max_epochs,
            threads=args.threads,
            more_epochs=args.more_epochs,
            patience=args.patience,
            allow_changed_data=args.allow_changed_data,
        )
        print(f"{run_dir}: resuming in the background (python -m core.runs list to follow)")
        return 0
    manager.delete_run(run_dir)
    print(f"deleted {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
