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
