"""``python -m core.data {check,synth,clear-cache} ...``: the data layer's command line."""

from __future__ import annotations

import argparse
import sys


def main_clear(args: list[str]) -> int:
    """``python -m core.data clear-cache [--dry-run]``: delete the sample and frame cache.

    Parameters
    ----------
    args : list of str
        Command-line arguments after ``clear-cache``.

    Returns
    -------
    int
        Exit status: 0.
    """
    from core.data import storage

    parser = argparse.ArgumentParser(
        prog="python -m core.data clear-cache",
        description="Delete the generated sample and the frame cache (the app regenerates "
        "them when needed). Only the app's own files go; nothing else in those folders.",
    )
    parser.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    ns = parser.parse_args(args)
    found = storage.stored() if ns.dry_run else storage.clear()
    verb = "would free" if ns.dry_run else "freed"
    for item in found:
        print(f"{item.label:28} {storage.human_size(item.bytes):>8}  {item.folder}")
    print(f"{verb} {storage.human_size(sum(item.bytes for item in found))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``check``, ``synth`` or ``clear-cache``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = (
        "usage: python -m core.data {check,synth,clear-cache} ...  (-h after a command for help)"
    )
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
    if command == "clear-cache":
        return main_clear(rest)
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2


def exit_now(code: int) -> None:
    """End this command's process with ``code`` once its output and exit hooks are done.

    The interpreter's own teardown is skipped: there, pyarrow's native reading threads
    can abort a process whose work is complete (SIGABRT, "terminate called without an
    active exception"; seen once here, after ``check --json`` had printed its whole
    result), and a finished check must not exit with a crash.
    """
    import atexit
    import os

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
