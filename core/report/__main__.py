"""``python -m core.report RUN_OR_EXPERIMENT [--out FILE.html]``: write a model card.

The card is one self-contained HTML file (Plotly's JavaScript inside; it opens offline
in any browser). Without ``--out`` it goes to ``report.html`` in the report's own
folder beside the run (``<run>.report/``) or in the experiment folder; ``--out`` must
name a file in a folder that exists (it is refused at once otherwise). The file names
no absolute local path: paths are shown relative to the runs root and the corpus root
(:mod:`core.report.paths`). Exit status: 0 when the card was written; 1 when it could
not be built (the message says why); 2 for bad arguments or a folder that cannot be
written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.errors import Refused, run_command
from core.report import Options, build_card
from core.report.audit import report_folder
from core.report.calibration import METHODS
from core.report.html import render_html
from core.report.paths import hide_local_paths, local_places
from core.runs import folder


def default_out(path: Path) -> Path:
    """Where the card goes without ``--out``."""
    if (path / "config.json").is_file():
        return report_folder(path) / "report.html"
    return path / "report.html"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: the command line).

    Returns
    -------
    int
        The exit status (see the module's description).
    """
    parser = argparse.ArgumentParser(
        prog="python -m core.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "target", metavar="RUN_OR_EXPERIMENT", help="a run folder or an experiment folder"
    )
    parser.add_argument(
        "--out", metavar="FILE.html", help="where to write the card (in a folder that exists)"
    )
    parser.add_argument(
        "--configuration", metavar="ID", help="experiment: which configuration (default: the best)"
    )
    parser.add_argument("--calibration", choices=[*METHODS, "none"], default="platt")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the audit")
    parser.add_argument(
        "--subgroup-boot", type=int, default=200, help="bootstrap resamples per subgroup"
    )
    parser.add_argument(
        "--no-audit-training", action="store_true", help="use only audit variants already trained"
    )
    parser.add_argument("--attribution-participants", type=int, default=4)
    args = parser.parse_args(argv)
    return run_command(_write_card, args, expected=(FileNotFoundError, ValueError))


def check_out(out: Path) -> None:
    """Refuse an ``--out`` file whose folder does not exist (it is never created).

    Raises
    ------
    core.errors.Refused
        The folder is missing, or ``out`` is a folder.
    """
    if out.is_dir():
        raise Refused(f"--out {out} is a folder: name the card's file, e.g. {out / 'card.html'}")
    if not out.parent.is_dir():
        raise Refused(
            f"--out {out}: the folder {out.parent} does not exist; create it first, or "
            "choose a file in a folder that exists"
        )


def _write_card(args: argparse.Namespace) -> int:
    target = Path(args.target)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out(out)  # before the card is built, which takes a while
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = Options(
        n_boot=args.n_boot,
        subgroup_boot=args.subgroup_boot,
        calibration=None if args.calibration == "none" else args.calibration,
        train_audit=not args.no_audit_training,
        attribution_participants=args.attribution_participants,
    )
    card = build_card(target, options, args.configuration)
    if out is None:
        out = default_out(target)
        out.parent.mkdir(parents=True, exist_ok=True)  # the report's own folder
    text = hide_local_paths(render_html(card), local_places(target))
    folder.atomic_write(out, lambda handle: handle.write(text))
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB, built in {card.build_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
