"""The error type for problems the person using the dashboard or the CLI can fix.

Every layer raises a subclass of :class:`UserError` for such a problem (a corpus file in
the wrong layout, a hyper-parameter out of range, a run that cannot be resumed), with a
message that says what is wrong and what to do. Pages catch ``UserError`` and show the
message; anything else is a bug and is left to surface with its traceback. This module
imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do."""


class InvalidSetting(UserError, ValueError):
    """A setting (hyper-parameter, option, count) with the wrong type or out of range.

    Also a ``ValueError``, as the command line and older callers expect.
    """


class InvalidRequest(UserError, ValueError):
    """An action that cannot be done as asked or not now, and why.

    For example resuming a run that is still running, or a second GPU run. Also a
    ``ValueError``, as older callers expect.
    """
