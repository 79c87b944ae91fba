"""``python -m core.experiment``: run, watch, stop, resume and promote experiments.

Usage::

    python -m core.experiment run SPEC.toml [--data ROOT] [--out DIR] [--workers N]
                                            [--scheduler ADDRESS] [--json]
                                            [--no-retry-failed] [--allow-changed-data]
    python -m core.experiment status DIR [--json]
    python -m core.experiment stop DIR [--timeout S]
    python -m core.experiment resume DIR [--workers N] [--scheduler ADDRESS] [--json]
                                         [--no-retry-failed] [--allow-changed-data]
    python -m core.experiment promote DIR [--workers N] [--scheduler ADDRESS] [--json]
    python -m core.experiment compare DIR A B [--metric M] [--json]

``run`` writes the experiment folder (``--out``, default ``experiments/NAME`` under the
runs root) and drives it to its end in this process; running the same spec again
carries on the same folder (finished runs are not trained again). ``compare`` tests
whether configuration A (``c000``) differs from B on their means over seeds (the figure
``status`` gives): a paired bootstrap over participants, each resample scoring every seed
of both; DeLong's test for AUROC when each has a single seed.

``resume`` (and ``run`` on an existing folder) tries again the runs recorded as failed
(``--no-retry-failed``: only those whose folder was deleted), and refuses a corpus that
changed since the experiment was created unless given ``--allow-changed-data`` (then
every run is set aside and trained again). ``--workers`` above this machine's cores is
capped at the cores, with a note, unless a ``--scheduler`` is given.

``--scheduler`` is checked at once: its form (``tcp://HOST:PORT``), then, before the
experiment folder is created, that the scheduler answers and that it and its workers can
import this project (docs/scale-out.md). A spec file is read as UTF-8 (a byte order mark
is fine). Exit status: 0 when the command did what it was asked; 1 when it could not (the
message says why, or runs failed); 2 for bad arguments: an option, a spec, a scheduler
that cannot be used, a folder that cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import UserError, run_command, seconds


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, one sub-command per action."""
    parser = argparse.ArgumentParser(
        prog="python -m core.experiment",
        description="Run, watch, stop, resume, promote and compare experiments.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="create an experiment from a spec and run it")
    run.add_argument("spec", metavar="SPEC.toml")
    run.add_argument("--data", metavar="ROOT", help="corpus root (default: bundled sample)")
    run.add_argument("--out", metavar="DIR", help="experiment folder")
    for name, helps in (
        ("resume", "carry on a stopped or interrupted experiment"),
        ("promote", "retrain the best configuration on the official split; report test"),
    ):
        commands.add_parser(name, help=helps).add_argument("dir", metavar="DIR")
    for sub in (run, commands.choices["resume"], commands.choices["promote"]):
        sub.add_argument("--workers", type=_positive, help="local Dask workers (default: cores)")
        sub.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            type=_scheduler,
            help="an existing Dask scheduler, tcp://HOST:PORT (its workers must import this "
            "project: docs/scale-out.md)",
        )
        sub.add_argument("--json", action="store_true", help="print the status as JSON")
    for sub in (run, commands.choices["resume"]):
        sub.add_argument(
            "--retry-failed",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="try again the runs recorded as failed, e.g. after a full disk (default); "
            "with --no-retry-failed only failed runs whose folder was deleted are tried again",
        )
        sub.add_argument(
            "--allow-changed-data",
            action="store_true",
            help="carry on although the corpus changed since the experiment was created: "
            "every run is set aside (kept in superseded/) and trained again on the new data",
        )
    commands.choices["resume"].add_argument(  # set by the dashboard's background launch
        "--requested-at", type=float, default=None, help=argparse.SUPPRESS
    )
    status = commands.add_parser("status", help="every configuration with its interval")
    status.add_argument("dir", metavar="DIR")
    status.add_argument("--json", action="store_true", help="one JSON object")
    stop = commands.add_parser("stop", help="stop cleanly: runs checkpoint and exit")
    stop.add_argument("dir", metavar="DIR")
    stop.add_argument("--timeout", type=seconds, default=60.0, help="seconds before ending it")
    comparing = commands.add_parser("compare", help="is configuration A better than B?")
    comparing.add_argument("dir", metavar="DIR")
    comparing.add_argument("a", metavar="A", help="a configuration ID, e.g. c000")
    comparing.add_argument("b", metavar="B")
    comparing.add_argument("--metric", help="default: the objective (macro_f1 for val_loss)")
    comparing.add_argument("--json", action="store_true", help="one JSON object")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def _scheduler(text: str) -> str:
    """An argparse type: a scheduler address of the right form (not yet connected to)."""
    from core.experiment.engine import scheduler_address

    try:
        return scheduler_address(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(status: dict[str, Any]) -> str:
    """The status as a plain-text table, one line per configuration, best marked ``*``."""
    best = (status.get("best") or {}).get("id")
    lines = [
        f"experiment {status['name']}: {status['state']}"
        + (f" ({status['reason']})" if status.get("reason") else ""),
        f"objective {status['objective']} ({status['direction']}), "
        f"{status['done']}/{status['n_runs']} runs done",
        f"  {'config':8s} {'mean':>7s} {'sd':>7s} {'95% CI of the mean':>20s} {'runs':>7s}  params",
    ]
    for e in status["configurations"]:
        interval = f"[{_number(e['ci_low'])}, {_number(e['ci_high'])}]"
        mark = "*" if e["id"] == best else " "
        params = ", ".join(f"{k}={v}" for k, v in e["params"].items()) or "(fixed only)"
        lines.append(
            f"{mark} {e['id']:8s} {_number(e['mean']):>7s} {_number(e['sd']):>7s} "
            f"{interval:>20s} {e['n_done']:>3d}/{e['n_runs']:<3d}  {params}"
        )
        if e.get("error"):
            lines.append(f"    no figures: {e['error']}")
        for run in e["runs"]:
            if run["state"] == "failed":
                lines.append(f"    {run['name']} failed: {run['reason']}")
    from core.experiment.control import promotion_summary

    return "\n".join(lines + promotion_summary(status))


def _comparison_text(result: dict[str, Any]) -> str:
    """The comparison in words, with DeLong's p-value for AUROC."""
    lines = [result["sentence"]]
    boot = result["bootstrap"]
    lines.append(
        f"paired bootstrap over {boot['n']} participants: {result['a']} better in "
        f"{100 * boot['share_a_better']:.0f} % of {boot['n_boot']} resamples"
    )
    if result["delong"]:
        d = result["delong"]
        lines.append(f"DeLong AUROC {d['a']:.3f} vs {d['b']:.3f}: z {d['z']:.2f}, p {d['p']:.3f}")
    return "\n".join(lines)


def _show(exp_dir: Path, as_json: bool) -> dict[str, Any]:
    from core.experiment.status import experiment_status

    status = experiment_status(exp_dir)
    print(json.dumps(status, indent=2) if as_json else format_table(status))
    return status


def _act(args: argparse.Namespace) -> int:
    from core.experiment import control, engine
    from core.experiment.folder import Experiment, local_workers

    if args.command == "status":
        _show(Path(args.dir), args.json)
        return 0
    if args.command == "compare":
        from core.experiment.compare import compare_configurations

        result = compare_configurations(Path(args.dir), args.a, args.b, args.metric)
        print(json.dumps(result, indent=2) if args.json else _comparison_text(result))
        return 0
    if args.command == "stop":
        print(control.stop(Path(args.dir), args.timeout))
        return 0
    if args.command == "promote":
        workers, capped = local_workers(args.workers, args.scheduler)
        if capped:
            print(f"note: {capped}", file=sys.stderr)
        record = control.promote(Path(args.dir), args.workers and workers, args.scheduler)
        _show(Path(args.dir), args.json)
        return 0 if record["state"] == "completed" else 1
    if args.command == "run":
        from core.experiment.folder import create
        from core.experiment.spec import load_spec

        spec = load_spec(args.spec)
        if args.scheduler:  # connect before anything is created
            engine.check_scheduler(args.scheduler)
        exp_dir = create(spec, args.data, args.out, args.workers, args.scheduler)
    else:
        exp_dir = Path(args.dir)
    scheduler = args.scheduler or Experiment(exp_dir).setup.get("scheduler")
    if capped := local_workers(args.workers, scheduler)[1]:
        print(f"note: {capped}", file=sys.stderr)
    engine.drive(
        exp_dir,
        args.workers,
        args.scheduler,
        getattr(args, "requested_at", None),
        retry_failed=args.retry_failed,
        allow_changed_data=args.allow_changed_data,
    )
    status = _show(exp_dir, args.json)
    failed = any(e["n_failed"] for e in status["configurations"])
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return run_command(_act, args)


if __name__ == "__main__":
    sys.exit(main())
