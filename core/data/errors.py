"""The data layer's own error type."""

from __future__ import annotations

from core.errors import UserError


class DataError(UserError):
    """A corpus file that cannot be read as the DAIC-WOZ layout says it should be.

    Parameters
    ----------
    file : str
        The file (or archive member) at fault, as the user would recognise it.
    problem : str
        What is wrong, ideally with a hint of what to do.
    """

    def __init__(self, file: str, problem: str) -> None:
        self.file = str(file)
        self.problem = problem
        super().__init__(f"{self.file}: {problem}")


def out_of_memory(file: str, size: int | None = None) -> DataError:
    """The error for a file whose reading ran out of memory (a ``MemoryError``).

    Running out of memory is no bug of the reader: the file is larger (or denser) than
    the memory free, so the message says that, with the file's size where it is known.

    Parameters
    ----------
    file : str
        The file (or archive member), as the user would recognise it.
    size : int, optional
        Its size in bytes.
    """
    held = f" ({size / 1e6:,.1f} MB)" if size is not None else ""
    return DataError(
        file,
        f"ran out of memory while reading it{held}: there is not enough free memory "
        "for a file this large; close other programs and try again, and check that the "
        "file is the session file it should be",
    )
