"""Parsers for every per-session DAIC-WOZ file.

Each parser takes the raw bytes of one file and the name to blame, and returns numbers in
a fixed layout or raises :class:`~core.data.errors.DataError` naming the file and the
problem. Parsing goes through pyarrow's multi-threaded CSV reader: the idiom common in
published code, ``pd.read_csv(path, sep=", ")``, falls back to pandas' Python engine and
is an order of magnitude slower on the CLNF files (see ``benchmarks/data_pipeline.py``).

When several sessions are parsed at once (in threads or worker processes), each parse
runs in its own thread instead (:func:`single_threaded`): pyarrow's threads then only
add hand-over costs, about 30 % more CPU per megabyte on a COVAREP file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.data import formats
from core.data.errors import DataError

_OTHER_SEPARATORS = {b"\t": "tabs", b";": "semicolons", b"|": "pipes"}

_THREADED: ContextVar[bool] = ContextVar("threaded_parsing", default=True)
"""Whether a parse may use pyarrow's thread pool (see :func:`single_threaded`)."""


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Parse in the calling thread only, inside the ``with`` block.

    For callers that already parse several files at once: the results are identical,
    only the CPU spent differs. The setting is a context variable, so it holds for the
    calling thread (or process) alone.
    """
    token = _THREADED.set(False)
    try:
        yield
    finally:
        _THREADED.reset(token)


@dataclass(frozen=True)
class ClnfTable:
    """One CLNF (OpenFace) file.

    Attributes
    ----------
    kind : str
        Key of :data:`core.data.formats.CLNF_FILES` (``"aus"``, ``"pose"``, ...).
    timestamp : numpy.ndarray
        Seconds from the start of the session, shape ``(n,)``, float64.
    confidence : numpy.ndarray
        Tracker confidence, shape ``(n,)``, float32.
    success : numpy.ndarray
        Whether a face was found, shape ``(n,)``, bool.
    values : numpy.ndarray
        The kind's own columns, shape ``(n, k)``, float32.
    columns : tuple of str
        Names of the ``k`` value columns.
    """

    kind: str
    timestamp: np.ndarray
    confidence: np.ndarray
    success: np.ndarray
    values: np.ndarray
    columns: tuple[str, ...]


def _first_line(data: bytes) -> bytes:
    end = data.find(b"\n")
    return (data if end < 0 else data[:end]).rstrip(b"\r")


def _is_number(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _separator_problem(line: bytes, expected: str) -> str | None:
    for sep, label in _OTHER_SEPARATORS.items():
        if sep in line:
            return f"fields are separated by {label}, expected {expected}"
    return None


def _locate_row(data: bytes, message: str) -> str:
    """Turn a pyarrow CSV error into one that says which row is at fault."""
    # "CSV parse error: Expected 74 columns, got 73: <row text>"
    match = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if match:
        expected, got = int(match.group(1)), int(match.group(2))
        line_no = next(
            (
                i + 1
                for i, line in enumerate(data.splitlines())
                if line.strip() and line.count(b",") + 1 != expected
            ),
            None,
        )
        where = f"row {line_no}" if line_no else "a row"
        return f"{where} has {got} columns, expected {expected}"
    return message.replace("CSV parse error: ", "")


def _read_csv(
    data: bytes,
    names: list[str],
    delimiter: str,
    skip_rows: int,
    kinds: dict[str, pa.DataType],
) -> pa.Table:
    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=skip_rows,
            block_size=1 << 20,
            use_threads=_THREADED.get(),
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=kinds,
            # "nan" and "-nan" stay NaN; only empty cells are null (" " is an empty
            # cell of a CLNF file, whose fields are separated by ", ")
            null_values=["", " "],
            strings_can_be_null=True,
        ),
    )


def _lenient_column(column: pa.ChunkedArray) -> pa.Array:
    """Numbers of a text column; a cell that is no number (``-1.#IND``) becomes NaN.

    Empty cells stay null (NaN in :func:`_to_matrix`).
    """
    text = column.to_pandas()  # (n,) object: str or None
    empty = text.isna().to_numpy()
    numbers = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(np.float64)
    return pa.array(numbers, mask=empty)


def _read_numeric(
    data: bytes, name: str, columns: int, delimiter: str, skip_rows: int, exact: int = 0
) -> pa.Table:
    """Read a fully numeric CSV body with pyarrow, translating errors.

    The first ``exact`` columns (timestamps) are read as float64, the others straight to
    float32, rounded once from the text (a fifth less CPU than float64 then a cast).
    A cell that is not a number (``-1.#IND``, ``abc``) or is empty is read as NaN, like
    ``nan`` itself: :mod:`core.data.validity` then marks its frame unusable, so one bad cell never
    rejects the file. Only the rare file holding such a cell pays for a second, textual
    reading.
    """
    names = [f"c{i}" for i in range(columns)]
    kinds = {n: pa.float64() if i < exact else pa.float32() for i, n in enumerate(names)}
    try:
        return _read_csv(data, names, delimiter, skip_rows, kinds)
    except pa.ArrowInvalid as error:
        if "conversion error" not in str(error):
            raise DataError(name, _locate_row(data, str(error))) from None
    try:
        text = _read_csv(data, names, delimiter, skip_rows, dict.fromkeys(names, pa.string()))
    except pa.ArrowInvalid as error:
        raise DataError(name, _locate_row(data, str(error))) from None
    return pa.table([_lenient_column(c) for c in text.columns], names=names)


def _to_matrix(table: pa.Table, start: int = 0) -> np.ndarray:
    """Stack table columns ``start:`` into a float32 ``(n, k)`` matrix.

    An empty cell becomes NaN, like ``nan`` or ``-1.#IND``: its frame is then masked and
    counted (:mod:`core.data.validity`), so a blank cell rejects neither file nor session.
    Each record batch goes to row-major order in one pass of pyarrow's own
    (``RecordBatch.to_tensor``), about three times faster than copying column by column.
    """
    if start:
        table = table.select(range(start, table.num_columns))
    out = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
    row = 0
    for batch in table.to_batches():
        if batch.num_rows:
            tensor = batch.to_tensor(null_to_nan=True, row_major=True)  # nulls -> NaN
            out[row : row + batch.num_rows] = tensor.to_numpy()
            row += batch.num_rows
    return out


def parse_headerless(data: bytes, name: str, columns: tuple[str, ...], what: str) -> np.ndarray:
    """Parse a header-less, comma-separated numeric file (COVAREP or FORMANT).

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str
        File name used in error messages.
    columns : tuple of str
        Expected column names (only their number is checked).
    what : str
        What the file is, for messages (``"COVAREP"``).

    Returns
    -------
    numpy.ndarray
        Shape ``(rows, len(columns))``, float32.

    Raises
    ------
    DataError
        Empty file, header line, wrong separator, wrong column count, a ragged row.
        A non-numeric, non-finite or empty cell is read as NaN instead (its frame is
        masked later).
    """
    if not data or data.isspace():  # isspace stops at the first non-space byte; no copy
        raise DataError(name, f"file is empty; a {what} file has one row per 10 ms")
    first = _first_line(data)
    fields = first.split(b",")
    if len(fields) == 1 and (problem := _separator_problem(first, "commas")):
        raise DataError(name, problem)
    if not _is_number(fields[0]):
        raise DataError(name, f"starts with a header line; {what} files have none")
    if len(fields) != len(columns):
        raise DataError(
            name,
            f"has {len(fields)} columns, expected {len(columns)}: is this a DAIC-WOZ {what} file?",
        )
    return _to_matrix(_read_numeric(data, name, len(columns), ",", 0))


def parse_covarep(data: bytes, name: str) -> np.ndarray:
    """Parse ``NNN_COVAREP.csv`` into a float32 ``(rows, 74)`` matrix."""
    return parse_headerless(data, name, formats.COVAREP_COLUMNS, "COVAREP")


def parse_formant(data: bytes, name: str) -> np.ndarray:
    """Parse ``NNN_FORMANT.csv`` into a float32 ``(rows, 5)`` matrix."""
    return parse_headerless(data, name, formats.FORMANT_COLUMNS, "FORMANT")


def parse_clnf(data: bytes, name: str, kind: str) -> ClnfTable:
    """Parse one CLNF file (header line, fields separated by ``", "``).

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str
        File name used in error messages.
    kind : str
        Key of :data:`core.data.formats.CLNF_FILES`.

    Returns
    -------
    ClnfTable
        Timestamps, confidence, success flags and the kind's value columns.

    Raises
    ------
    DataError
        Empty file, missing or unexpected header, wrong separator, ragged rows. A
        non-numeric, non-finite or empty cell is read as NaN instead.
    """
    expected = formats.CLNF_LEAD + formats.CLNF_FILES[kind][1]
    if not data or data.isspace():  # isspace stops at the first non-space byte; no copy
        raise DataError(name, "file is empty; a CLNF file starts with a header line")
    header = _first_line(data)
    fields = [f.strip() for f in header.decode("utf-8", "replace").split(",")]
    if len(fields) == 1 and (problem := _separator_problem(header, "', ' (comma and space)")):
        raise DataError(name, problem)
    if _is_number(fields[0].encode()):
        raise DataError(name, f"has no header line; expected it to start with {expected[0]!r}")
    if len(fields) != len(expected):
        raise DataError(name, f"has {len(fields)} columns, expected {len(expected)}")
    if tuple(fields) != expected:
        pairs = zip(fields, expected, strict=True)
        wrong = [f"{got!r} (expected {want!r})" for got, want in pairs if got != want]
        raise DataError(name, "unexpected column names: " + ", ".join(wrong[:3]))
    # ", " is a two-character separator, which neither pyarrow nor pandas' C engine
    # accept; splitting on "," leaves a space before each number, which pyarrow's numeric
    # converter trims (no copy of the file, unlike replacing ", " by ",").
    lead = len(formats.CLNF_LEAD)
    table = _read_numeric(data, name, len(expected), ",", 1, exact=lead)
    if table.num_rows == 0:
        raise DataError(name, "has a header but no frames")
    head = _to_matrix(table.select(range(lead))).astype(np.float64)
    return ClnfTable(
        kind=kind,
        timestamp=table.column(1).to_numpy().astype(np.float64),
        confidence=head[:, 2].astype(np.float32),
        success=head[:, 3] > 0.5,
        values=_to_matrix(table, start=lead),
        columns=formats.CLNF_FILES[kind][1],
    )


_CODED_LINE = re.compile(r"^\S+ \((.*)\)\s*$")


def parse_transcript(data: bytes, name: str) -> pd.DataFrame:
    """Parse ``NNN_TRANSCRIPT.csv`` (tab-separated despite its name).

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str
        File name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``start_time``, ``stop_time`` (float seconds), ``speaker`` (``"Ellie"``
        or ``"Participant"``, matched case-insensitively) and ``value`` (str). Ellie's
        lines written as ``code (text)`` (sessions above 363) keep only ``text``. Lines
        whose start or stop time is not finite (``inf``, ``nan``) are left out; their
        file rows are listed in ``attrs["unusable_rows"]``, and the file row of each
        kept line in ``attrs["file_rows"]``.

    Raises
    ------
    DataError
        Empty file, wrong separator or header, non-numeric times, unknown speakers.
    """
    if not data or data.isspace():  # isspace stops at the first non-space byte; no copy
        raise DataError(name, "file is empty; a transcript starts with a header line")
    header = _first_line(data).decode("utf-8", "replace")
    want = "\t".join(formats.TRANSCRIPT_COLUMNS)
    if "\t" not in header:
        if "," in header and header.lower().startswith("start_time"):
            raise DataError(name, "fields are separated by commas, expected tabs")
        raise DataError(name, f"header is {header[:60]!r}, expected {want!r}")
    if [f.strip().lower() for f in header.split("\t")] != list(formats.TRANSCRIPT_COLUMNS):
        raise DataError(name, f"header is {header[:60]!r}, expected {want!r}")
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            sep="\t",
            quoting=csv.QUOTE_NONE,
            dtype=str,
            keep_default_na=False,
            encoding_errors="replace",
        )
    except pd.errors.ParserError as error:
        raise DataError(name, f"cannot be read as tab-separated text ({error})") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas turns the extra leading field of a too-long first row into an index
        raise DataError(name, "row 2 has more than 4 tab-separated fields, expected 4")
    frame.columns = list(formats.TRANSCRIPT_COLUMNS)
    times = frame[["start_time", "stop_time"]].apply(pd.to_numeric, errors="coerce")
    bad = times.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2  # 1-based, after the header
        raise DataError(name, f"row {row} has a non-numeric start or stop time")
    speaker = frame["speaker"].str.strip().str.lower()
    known = {"ellie": formats.INTERVIEWER, "participant": formats.PARTICIPANT}
    unknown = sorted(set(speaker) - set(known))
    if unknown:
        raise DataError(name, f"unknown speaker(s) {unknown[:3]}; expected Ellie or Participant")
    speaker = speaker.map(known)
    value = frame["value"].str.strip()
    ellie = (speaker == formats.INTERVIEWER).to_numpy()
    value[ellie] = value[ellie].str.replace(_CODED_LINE, r"\1", regex=True)
    finite = np.isfinite(times.to_numpy(np.float64)).all(axis=1)  # (n,)
    out = pd.DataFrame(
        {
            "start_time": times["start_time"].to_numpy(np.float64)[finite],
            "stop_time": times["stop_time"].to_numpy(np.float64)[finite],
            "speaker": speaker.to_numpy()[finite],
            "value": value.to_numpy()[finite],
        }
    )
    # a time of inf or nan places a line nowhere: the line is left out (its words too)
    # and its file row (1-based, after the header) is kept for `check` to report
    out.attrs["unusable_rows"] = [int(i) + 2 for i in np.flatnonzero(~finite)]
    out.attrs["file_rows"] = [int(i) + 2 for i in np.flatnonzero(finite)]
    return out
