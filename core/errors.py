"""The error type for problems the person using the dashboard or the CLI can fix.

Every layer raises a subclass of :class:`UserError` for such a problem (a corpus file in
the wrong layout, a hyper-parameter out of range, a run that cannot be resumed), with a
message that says what is wrong and what to do. Pages catch ``UserError`` and show the
message; anything else is a bug and is left to surface with its traceback.

The command lines (``python -m core.train``, ``core.evaluate``, ``core.runs``,
``core.experiment``, ``core.report``) report such errors in one place,
:func:`run_command` (or :func:`report` where a command catches an error itself): one
line on stderr, never a traceback, and an exit status. A folder that cannot be written
(read-only, or not this user's) is reported there too, whatever tried to write it. The
shared argparse type :func:`seconds` checks every timeout the commands take. This module
imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations

import argparse
import errno
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFUSED = 2
"""Exit status of a command that refused to start (bad arguments, nothing was done)."""


class UserError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do.

    Attributes
    ----------
    exit_status : int or None
        How a command line ends on this error; None leaves it to the command (1 for
        most: the action could not be done).
    """

    exit_status: int | None = None


class InvalidSetting(UserError, ValueError):
    """A setting (hyper-parameter, option, count) with the wrong type or out of range.

    Also a ``ValueError``, as the command line and older callers expect.
    """


class InvalidRequest(UserError, ValueError):
    """An action that cannot be done as asked or not now, and why.

    For example resuming a run that is still running, or a second GPU run. Also a
    ``ValueError``, as older callers expect.
    """


class Refused(InvalidRequest):
    """A command refused before it did anything (a busy run, a run without a model, ...).

    A command line ends on it with exit status 2, as for a bad argument.
    """

    exit_status = REFUSED


READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
"""``OSError`` numbers that mean "this folder cannot be written by this user"."""


def read_only_message(error: BaseException) -> str | None:
    """What to say about a write refused by the file system, or None for any other error.

    Parameters
    ----------
    error : BaseException
        Any exception.

    Returns
    -------
    str or None
        For an ``OSError`` with ``EROFS``, ``EACCES`` or ``EPERM``: which folder is
        read-only and what to do; None otherwise.
    """
    if not isinstance(error, OSError) or error.errno not in READ_ONLY_ERRNOS:
        return None
    if error.filename is None:
        where = "a folder this command writes"
    else:
        target = Path(error.filename)
        where = str(target if target.is_dir() else target.parent)
    return (
        f"{where} is read-only ({error.strerror or 'not writable'}): nothing can be written "
        "there. Choose another folder (--runs-root, --out, or $DAIC_RUNS_ROOT for runs), "
        "or make this one writable (its permissions, or how it is mounted)"
    )


def report(
    error: BaseException,
    default_status: int = 1,
    expected: tuple[type[BaseException], ...] = (),
) -> int | None:
    """Print an error the user can fix as one line on stderr; return the exit status.

    The one place the command lines turn an error into a message: a read-only folder
    (exit status 2), a :class:`UserError` (its ``exit_status``, else
    ``default_status``), or one of the ``expected`` types (``default_status``).

    Parameters
    ----------
    error : BaseException
        What was raised.
    default_status : int, default 1
        The command's status for an error that does not name its own.
    expected : tuple of exception types
        Other errors this command reports as messages (``ValueError`` for most).

    Returns
    -------
    int or None
        The exit status, once the message is printed; None for anything else (a bug:
        the caller re-raises it, traceback and all).
    """
    if (message := read_only_message(error)) is not None:
        status = REFUSED
    elif isinstance(error, UserError):
        message = str(error)
        status = default_status if error.exit_status is None else error.exit_status
    elif isinstance(error, expected):
        message, status = str(error), default_status
    else:
        return None
    print(f"error: {message}", file=sys.stderr)
    return status


def run_command(
    action: Callable[..., int],
    *args: Any,
    default_status: int = 1,
    expected: tuple[type[BaseException], ...] = (),
) -> int:
    """Run a command line's body; report an error the user can fix instead of raising it.

    Parameters
    ----------
    action : callable
        The command's body; returns the exit status.
    *args
        Its arguments.
    default_status : int, default 1
        See :func:`report`.
    expected : tuple of exception types
        See :func:`report`.

    Returns
    -------
    int
        The exit status: ``action``'s, or the reported error's.
    """
    try:
        return action(*args)
    except Exception as error:
        status = report(error, default_status, expected)
        if status is None:
            raise
        return status


def seconds(text: str) -> float:
    """An argparse type for a timeout: a finite number of seconds, 0 or more.

    Every command that takes a timeout (``core.runs stop``, ``core.experiment stop``)
    uses this one check: no ``nan``, no ``inf``, nothing negative.

    Parameters
    ----------
    text : str
        As typed.

    Returns
    -------
    float
        The seconds.

    Raises
    ------
    argparse.ArgumentTypeError
        Not a finite number of seconds, 0 or more (argparse prints it, exit status 2).
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text}: expected a finite number of seconds, 0 or more")
    return value
