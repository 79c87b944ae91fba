"""``python -m core.data {check,synth} ...``: the data layer's command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``check`` or ``synth``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m core.data {check,synth} ...  (-h after a command for help)"
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "check":
        from core.data.check import main_check

        return main_check(rest)
    if command == "synth":
        from core.data.synth import main_synth

        return main_synth(rest)
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
