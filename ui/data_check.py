"""What the Data page says about a corpus's problems: so far, or once everything was read.

"No problems found" is said only once every session file has been read (the full
check). Before, it is "so far", with what was read: the quick view reads the label files
and the session index only, and a full check in progress has read some sessions.
"""

from __future__ import annotations


def _problems(count: int) -> str:
    return f"{count} problem{'s' if count != 1 else ''}"


def check_progress_text(done: int, total: int, found: int) -> str:
    """The full check while it runs: how far it got and what it found so far.

    Parameters
    ----------
    done, total : int
        Sessions read, out of how many.
    found : int
        Problems found so far (those of the label files and index included).
    """
    read = f"{done} of {total} sessions read"
    if not found:
        return f"No problems found so far ({read}); checking the rest."
    return f"{_problems(found)} found so far ({read}); the table lists them when the check ends."


def quick_view_text(found: int) -> str:
    """The quick view's summary: it has read the label files and index, no session file."""
    if not found:
        return (
            "No problems found so far in the label files and the session index; no session "
            "file has been read yet: the full check reads every file."
        )
    return (
        f"{_problems(found)} found in the label files and the session index; no session "
        "file has been read yet: the full check reads every file."
    )


def full_check_text(found: int, usable: bool) -> str:
    """The full check's summary once every session file has been read."""
    state = "usable" if usable else "**not usable** for training"
    if not found:
        return f"No problems found: every session file was read; the corpus is {state}."
    return f"{_problems(found)} found: every session file was read; the corpus is {state}."
