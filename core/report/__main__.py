"""``python -m core.report RUN_OR_EXPERIMENT [--out FILE.html]``: write a model card.

The card is one self-contained HTML file (Plotly's JavaScript inside; it opens offline
in any browser). Without ``--out`` it goes to ``report.html`` in the report's own
folder beside the run (``<run>.report/``) or in the experiment folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.errors import UserError
from core.report import Options, build_card, write_html
from core.report.audit import report_folder
from core.report.calibration import METHODS


def default_out(path: Path) -> Path:
    """Where the card goes without ``--out``."""
    if (path / "config.json").is_file():
        return report_folder(path) / "report.html"
    return path / "report.html"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m core.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "target", metavar="RUN_OR_EXPERIMENT", help="a run folder or an experiment folder"
    )
    parser.add_argument("--out", metavar="FILE.html", help="where to write the card")
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = Options(
        n_boot=args.n_boot,
        subgroup_boot=args.subgroup_boot,
        calibration=None if args.calibration == "none" else args.calibration,
        train_audit=not args.no_audit_training,
        attribution_participants=args.attribution_participants,
    )
    target = Path(args.target)
    try:
        card = build_card(target, options, args.configuration)
    except (FileNotFoundError, ValueError, UserError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = write_html(card, Path(args.out) if args.out else default_out(target))
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB, built in {card.build_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
