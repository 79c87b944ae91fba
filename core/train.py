"""``python -m core.train``: train or resume one run (the dashboard runs this same code).

Usage::

    python -m core.train {text,audio,face,fusion} [--data ROOT] [--run-dir DIR]
                         [--max-epochs N] [--seed S] [--<hyper-parameter> VALUE ...]
    python -m core.train --resume RUN_DIR [--max-epochs N]

Every hyper-parameter of :mod:`core.hparams` is an option (``--hidden-size 64``). Exit
status: 0 for a run that completed, stopped early or was stopped on request; 1 when it
failed (the reason is in ``status.json`` and ``train.log``); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from core import hparams
from core.pipeline.config import DEFAULT_RUNS_ROOT, make_config, read_config
from core.runs import folder

log = logging.getLogger("core.train")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, with one option per hyper-parameter."""
    parser = argparse.ArgumentParser(
        prog="python -m core.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("modality", nargs="?", choices=hparams.MODALITIES)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or finished run")
    parser.add_argument("--data", metavar="ROOT", help="corpus root (default: bundled sample)")
    parser.add_argument("--run-dir", metavar="DIR", help="the run's folder (default: new one)")
    parser.add_argument(
        "--runs-root",
        metavar="DIR",
        default=str(DEFAULT_RUNS_ROOT),
        help="where new run folders go (default: checkpoints/)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="a configuration written by the run manager"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    for m in ("audio", "face", "text"):
        parser.add_argument(f"--{m}-run", metavar="RUN_DIR", help=f"fusion: the {m} run to use")
    for h in hparams.HPARAMS:
        kind = {"int": int, "float": float}.get(h.kind, str)
        parser.add_argument(
            _option(h.name),
            type=kind,
            default=None,
            help=f"{h.help} ({'/'.join(h.modalities)})",
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
    return given


def _prepare_run(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    """Work out the configuration and run folder; write config.json for a new run."""
    if args.resume:
        run_dir = Path(args.resume)
        config = read_config(run_dir)
        if config["modality"] == "text":
            raise ValueError("text runs have no epochs to resume; start a new text run")
        if not os.environ.get(folder.MANAGED_ENV):  # the run manager checks this itself
            from core.runs.manager import read_status

            if read_status(run_dir).get("state") in ("starting", "running"):
                raise ValueError(f"{run_dir} is still running; python -m core.runs stop it first")
        if args.max_epochs is not None:
            config["training"]["max_epochs"] = hparams.resolve(
                config["modality"], {"max_epochs": args.max_epochs}
            )["training"]["max_epochs"]
            folder.write_json_atomic(run_dir / folder.CONFIG, config)
        if not os.environ.get(folder.MANAGED_ENV):  # the run manager clears it itself
            (run_dir / folder.STOP_REQUEST).unlink(missing_ok=True)  # left by a past stop
        # With finished epochs on record a missing checkpoint is an error, not a restart.
        saved = (run_dir / folder.LATEST).exists() or bool(folder.read_metrics(run_dir))
        return config, run_dir, saved
    if args.config:
        config = folder.read_json(Path(args.config))
        if not config or "modality" not in config:
            raise ValueError(f"{args.config} is not a run configuration")
    elif not args.modality:
        raise ValueError("name a modality (text, audio, face, fusion) or --resume RUN_DIR")
    else:
        sources = {m: getattr(args, f"{m}_run") for m in ("audio", "face", "text")}
        values = _values(args, args.modality)
        config = make_config(args.modality, args.data, values, args.seed, sources)
    if config["modality"] == "fusion":
        from core.pipeline.sources import resolve_sources

        config["sources"] = resolve_sources(config, Path(args.runs_root))
    if args.run_dir:
        run_dir = Path(args.run_dir)
        if (run_dir / folder.CONFIG).exists() and not args.config:
            raise ValueError(f"{run_dir} already holds a run; use --resume {run_dir}")
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = folder.new_run_dir(Path(args.runs_root), config["modality"])
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    folder.write_status(run_dir, "starting", None, modality=config["modality"])
    return config, run_dir, False


def _heartbeat(run_dir: Path, every_s: float = 1.0) -> None:
    """Touch the run's heartbeat file while this process lives (a daemon thread)."""
    path = run_dir / folder.HEARTBEAT
    while True:
        path.touch()
        time.sleep(every_s)


def run(config: dict[str, Any], run_dir: Path, resume: bool, progress: bool) -> str:
    """Train one configuration in ``run_dir``, then evaluate its best model; return the final state.

    The evaluation (dev, and test where labelled) is saved in the run folder before the
    process exits; it never changes the state (:func:`core.evaluate.evaluate_finished_run`).
    """
    modality = config["modality"]
    if modality == "text":
        from core.pipeline.text import train_text

        state = train_text(config, run_dir)
    elif modality == "fusion":
        from core.pipeline.fusion import train_fusion

        state = train_fusion(config, run_dir, resume=resume, progress=progress)
    else:
        from core.pipeline.neural import train_neural

        state = train_neural(config, run_dir, resume=resume, progress=progress)
    from core.evaluate import evaluate_finished_run

    evaluate_finished_run(run_dir)  # logs instead of raising: a completed run stays completed
    return state


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config, run_dir, resume = _prepare_run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        _record_failure(args.resume or args.run_dir, f"{type(error).__name__}: {error}")
        return 2
    # This process now owns the run.
    folder.write_status(run_dir, "starting", None, threads=args.threads)
    threading.Thread(target=_heartbeat, args=(run_dir,), daemon=True).start()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    handlers = [
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


def _record_failure(run_dir: str | None, reason: str) -> None:
    """Mark failed a run that the run manager set up for this process but that cannot start."""
    if not run_dir or not os.environ.get(folder.MANAGED_ENV):
        return
    status = folder.read_json(Path(run_dir) / folder.STATUS) or {}
    if status.get("state") == "starting":
        folder.write_status(Path(run_dir), "failed", reason)


def _train_and_report(config: dict[str, Any], run_dir: Path, resume: bool, progress: bool) -> int:
    log.info("%s %s run in %s", "resuming" if resume else "starting", config["modality"], run_dir)
    if "torch" in sys.modules:
        log.info("torch uses %d CPU threads", sys.modules["torch"].get_num_threads())
    try:
        state = run(config, run_dir, resume, progress=progress)
    except Exception as error:  # noqa: BLE001 - any failure must end in a failed status
        reason = f"{type(error).__name__}: {error}"
        log.error("run failed: %s\n%s", reason, traceback.format_exc())
        status = folder.read_json(run_dir / folder.STATUS) or {}
        if status.get("state") != "failed":
            folder.write_status(run_dir, "failed", reason)
        return 1
    status = folder.read_json(run_dir / folder.STATUS) or {}
    log.info("run %s: %s", state, status.get("reason"))
    print(run_dir)
    return 1 if state == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
