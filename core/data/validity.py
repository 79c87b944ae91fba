"""Which cells of a COVAREP, FORMANT or CLNF file hold a usable number.

A cell is unusable when it is not a finite number (``inf``, ``-inf``, ``nan``, a
platform spelling such as ``-1.#IND``, or text that is no number at all) or when it lies
outside the plausible range of its column (:data:`RANGES`; a value like ``1e30`` is a
writing error, not a measurement). A frame (row) with an unusable cell is treated like an
unvoiced or ``success = 0`` frame: left out, counted and reported by ``check``, never a
reason to reject the file or to change any other frame. ``docs/data-formats.md`` lists the
ranges and why they are this wide: they catch corrupt values, not unusual people.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.data import formats

_WIDE = (-1e4, 1e4)

RANGES: dict[str, tuple[float, float]] = {
    # COVAREP: F0 in Hz (0 where unvoiced), VUV a flag, the rest dimensionless or dB
    **dict.fromkeys(formats.COVAREP_COLUMNS, (-1e3, 1e3)),
    "F0": (0.0, 1000.0),
    "VUV": (0.0, 1.0),
    # FORMANT: Hz, 0 where the tracker found none
    **dict.fromkeys(formats.FORMANT_COLUMNS, (0.0, 2e4)),
    # CLNF: AU intensities 0-5 and presence flags 0/1 (a margin for regression noise)
    **{c: (-5.0, 10.0) if c.endswith("_r") else (0.0, 1.0) for c in formats.AU_COLUMNS},
    **dict.fromkeys(formats.POSE_COLUMNS[:3], (-1e4, 1e4)),  # mm
    **dict.fromkeys(formats.POSE_COLUMNS[3:], (-10.0, 10.0)),  # radians
    **dict.fromkeys(formats.GAZE_COLUMNS, (-2.0, 2.0)),  # unit vectors
    **dict.fromkeys(formats.LANDMARK_2D_COLUMNS, _WIDE),  # pixels
    **dict.fromkeys(formats.LANDMARK_3D_COLUMNS, (-1e5, 1e5)),  # mm
    "timestamp": (0.0, 1e5),  # seconds from the start of a session
}
"""Plausible ``(low, high)`` of every value column, both ends included."""


def bounds(columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of ``columns``, each shape ``(F,)``, float32."""
    pairs = np.array([RANGES.get(c, _WIDE) for c in columns], np.float32).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def bad_cells(values: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """Whether each cell is unusable (non-finite or outside its range), shape ``(n, F)``.

    NaN compares false against both bounds, so one comparison catches every case.
    """
    low, high = bounds(columns)
    with np.errstate(invalid="ignore"):
        return ~((values >= low) & (values <= high))  # (n, F)


def bad_rows(
    values: np.ndarray, columns: Sequence[str], ignore: np.ndarray | None = None
) -> np.ndarray:
    """Whether each frame has an unusable cell, shape ``(n,)``.

    Parameters
    ----------
    values : numpy.ndarray
        Frames, shape ``(n, F)``.
    columns : sequence of str
        The ``F`` column names (their ranges are looked up in :data:`RANGES`).
    ignore : numpy.ndarray, optional
        Cells not to judge, shape ``(n, F)`` bool (the glottal columns of unvoiced
        frames, which are dropped anyway).
    """
    cells = bad_cells(values, columns)
    if ignore is not None:
        cells &= ~ignore
    return np.asarray(cells.any(axis=1))


def covarep_ignored(values: np.ndarray) -> np.ndarray:
    """The cells of a COVAREP matrix ``(n, >=74)`` that carry no meaning (glottal, unvoiced)."""
    ignore = np.zeros(values.shape, bool)  # (n, F)
    unvoiced = values[:, formats.COVAREP_COLUMNS.index("VUV")] == 0  # NaN VUV stays judged
    glottal = [formats.COVAREP_COLUMNS.index(c) for c in formats.COVAREP_GLOTTAL]
    ignore[np.ix_(unvoiced, glottal)] = True
    return ignore


def describe(
    values: np.ndarray,
    columns: Sequence[str],
    first_line: int,
    ignore: np.ndarray | None = None,
    raw: bytes | None = None,
) -> str | None:
    """One sentence on the unusable frames of a file, or None when every frame is usable.

    Parameters
    ----------
    values : numpy.ndarray
        The parsed frames, shape ``(n, F)``.
    columns : sequence of str
        Their column names.
    first_line : int
        File line (1-based) of frame 0: 1 without a header, 2 with one.
    ignore : numpy.ndarray, optional
        Cells not to judge, as for :func:`bad_rows`.
    raw : bytes, optional
        The file's text, to quote the offending cell as written (``-1.#IND``).

    Returns
    -------
    str or None
        ``"3 frames have an unusable cell, left out like unvoiced or untracked frames
        (first at row 12: H1H2 = '-inf', not a finite number)"``.
    """
    cells = bad_cells(values, columns)
    if ignore is not None:
        cells &= ~ignore
    rows = np.flatnonzero(cells.any(axis=1))
    if rows.size == 0:
        return None
    first = int(rows[0])
    column = int(np.flatnonzero(cells[first])[0])
    line = first + first_line
    text = _cell_text(raw, line, column) if raw is not None else None
    value = float(values[first, column])
    low, high = RANGES.get(columns[column], _WIDE)
    if text is not None and not _is_number(text):
        why = "non-numeric"
    elif not np.isfinite(value):
        why = "not a finite number"
    else:
        why = f"outside the plausible {low:g} to {high:g}"
    shown = repr(text) if text is not None else repr(value)
    plural = "frame has" if rows.size == 1 else "frames have"
    return (
        f"{rows.size} {plural} an unusable cell, left out like unvoiced or untracked frames "
        f"(first at row {line}: {columns[column]} = {shown}, {why})"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cell_text(raw: bytes, line: int, column: int) -> str | None:
    """The text of one cell (1-based ``line``, 0-based ``column``) as written."""
    lines = raw.split(b"\n", line)
    if len(lines) < line:
        return None
    cells = lines[line - 1].split(b",")
    return cells[column].strip().decode("utf-8", "replace") if column < len(cells) else None
