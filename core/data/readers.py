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
import functools
import io
import math
import re
from array import array
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.data import formats
from core.data.errors import DataError, out_of_memory

T = TypeVar("T")

_OTHER_SEPARATORS = {b"\t": "tabs", b";": "semicolons", b"|": "pipes"}

_BLOCK_SIZE = 1 << 20
"""Bytes pyarrow parses at a time; a row must fit in one (real rows are under 5 KB)."""

_TRANSCRIPT_FIELDS = len(formats.TRANSCRIPT_COLUMNS)

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


def _memory_named(parse: Callable[..., T]) -> Callable[..., T]:
    """Let a parser that runs out of memory say so, naming its file (never a reader bug).

    The wrapped parser takes the file's bytes and its name first; a ``MemoryError``
    (pyarrow's and numpy's included) becomes a :class:`DataError` naming the file and
    its size.
    """

    @functools.wraps(parse)
    def wrapper(data: bytes, name: str, *args: Any, **kwargs: Any) -> T:
        try:
            return parse(data, name, *args, **kwargs)
        except MemoryError:
            raise out_of_memory(name, len(data)) from None

    return wrapper


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


def _long_row(data: bytes, limit: int) -> tuple[int, int, int] | None:
    """The first row longer than ``limit`` bytes: ``(row, start, length)``, 1-based row."""
    start, row = 0, 1
    while start < len(data):
        end = data.find(b"\n", start, start + limit + 1)
        if end < 0:
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            if end - start > limit:
                return row, start, end - start
        start, row = end + 1, row + 1
    return None


def _not_a_table(data: bytes, what: str) -> str:
    """Why a file whose rows pyarrow cannot split into blocks is no ``what`` table."""
    found = _long_row(data, _BLOCK_SIZE)
    if found is None:
        return f"is not a {what} table: its rows cannot be told apart"
    row, start, length = found
    head = bytes(data[start : start + 40])
    if data.find(b"\x00", start, start + length) >= 0:
        holds = "NUL bytes: binary data, or a part never written (a sparse or interrupted copy)"
    else:
        holds = f"text starting {head.decode('utf-8', 'replace')!r}"
    return (
        f"is not a {what} table: row {row} is {length:,} bytes long with no line break "
        f"(a {what} row is at most a few KB) and holds {holds}"
    )


def _locate_row(data: bytes, message: str, what: str = "CSV") -> str:
    """Turn a pyarrow CSV error into one that says which row is at fault."""
    if "straddling object straddles" in message:  # a row longer than a parse block
        return _not_a_table(data, what)
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
            block_size=_BLOCK_SIZE,
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
    data: bytes,
    name: str,
    columns: int,
    delimiter: str,
    skip_rows: int,
    exact: int = 0,
    what: str = "CSV",
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
            raise DataError(name, _locate_row(data, str(error), what)) from None
    try:
        text = _read_csv(data, names, delimiter, skip_rows, dict.fromkeys(names, pa.string()))
    except pa.ArrowInvalid as error:
        raise DataError(name, _locate_row(data, str(error), what)) from None
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


@_memory_named
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
    return _to_matrix(_read_numeric(data, name, len(columns), ",", 0, what=what))


def parse_covarep(data: bytes, name: str) -> np.ndarray:
    """Parse ``NNN_COVAREP.csv`` into a float32 ``(rows, 74)`` matrix."""
    return parse_headerless(data, name, formats.COVAREP_COLUMNS, "COVAREP")


def parse_formant(data: bytes, name: str) -> np.ndarray:
    """Parse ``NNN_FORMANT.csv`` into a float32 ``(rows, 5)`` matrix."""
    return parse_headerless(data, name, formats.FORMANT_COLUMNS, "FORMANT")


@_memory_named
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
    table = _read_numeric(data, name, len(expected), ",", 1, exact=lead, what="CLNF")
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
_SPEAKERS = {b"ellie": formats.INTERVIEWER, b"participant": formats.PARTICIPANT}


def _check_transcript_header(data: bytes, name: str) -> None:
    """Refuse an empty transcript or one whose first line is not the expected header."""
    if not data or data.isspace():  # isspace stops at the first non-space byte; no copy
        raise DataError(name, "file is empty; a transcript starts with a header line")
    header = _first_line(data).decode("utf-8", "replace")
    want = "\t".join(formats.TRANSCRIPT_COLUMNS)
    if "\t" not in header:
        if "," in header and header.lower().startswith("start_time"):
            raise DataError(name, "fields are separated by commas, expected tabs")
        raise DataError(name, f"header is {header[:60]!r}, expected {want!r}")
    fields = [f.strip().lower() for f in header.split("\t", _TRANSCRIPT_FIELDS)]
    if fields != list(formats.TRANSCRIPT_COLUMNS):
        raise DataError(name, f"header is {header[:60]!r}, expected {want!r}")


def _transcript_fields(line: bytes, row: int, name: str) -> list[bytes]:
    """The three or four fields of one transcript row; at most five are ever split off."""
    parts = line.rstrip(b"\r\n").split(b"\t", _TRANSCRIPT_FIELDS)
    if len(parts) > _TRANSCRIPT_FIELDS:
        raise DataError(
            name,
            f"cannot be read as tab-separated text: row {row} has more than "
            f"{_TRANSCRIPT_FIELDS} tab-separated fields, expected {_TRANSCRIPT_FIELDS}",
        )
    if len(parts) < _TRANSCRIPT_FIELDS - 1:
        raise DataError(
            name,
            f"cannot be read as tab-separated text: row {row} has {len(parts)} "
            f"tab-separated field(s), expected {_TRANSCRIPT_FIELDS}",
        )
    return parts


def _time(text: bytes) -> float | None:
    """A start or stop time as written (``12.5``, ``inf``), or None if it is no number.

    Python's ``float`` also reads ``1_000``, which no transcript writer writes: refused.
    """
    if b"_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@_memory_named
def parse_transcript(data: bytes, name: str) -> pd.DataFrame:
    """Parse ``NNN_TRANSCRIPT.csv`` (tab-separated despite its name).

    The file is read line by line, each line split into at most four fields: a row with
    more is refused at once, however many it has (a row of a million fields costs no
    more than a row of five), and memory holds only what the rows kept amount to. Blank
    lines are skipped; a row without its last field (the text) has an empty text.

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
        file rows (1-based, the header is row 1) are listed in
        ``attrs["unusable_rows"]``, and the file row of each kept line in
        ``attrs["file_rows"]``.

    Raises
    ------
    DataError
        Empty file, wrong separator or header, a row with more than four or fewer than
        three fields, non-numeric times, unknown speakers; or the parse ran out of memory.
    """
    _check_transcript_header(data, name)
    starts, stops = array("d"), array("d")  # 8 bytes a row, not a float object's 32
    rows = array("q")
    speakers: list[str] = []
    values: list[str] = []
    unusable: list[int] = []
    unknown: set[str] = set()
    lines = iter(io.BytesIO(data))  # shares ``data``'s memory; no copy
    next(lines)  # the header
    for row, line in enumerate(lines, start=2):
        if line.isspace():
            continue
        parts = _transcript_fields(line, row, name)
        start, stop = _time(parts[0]), _time(parts[1])
        if start is None or stop is None:
            raise DataError(name, f"row {row} has a non-numeric start or stop time")
        speaker = _SPEAKERS.get(parts[2].strip().lower())
        if speaker is None:
            unknown.add(parts[2].decode("utf-8", "replace").strip().lower())
            continue
        if not (math.isfinite(start) and math.isfinite(stop)):
            # a time of inf or nan places a line nowhere: the line is left out (its
            # words too) and its file row is kept for `check` to report
            unusable.append(row)
            continue
        value = parts[3].decode("utf-8", "replace").strip() if len(parts) > 3 else ""
        if speaker == formats.INTERVIEWER and (coded := _CODED_LINE.match(value)):
            value = coded.group(1)
        starts.append(start)
        stops.append(stop)
        rows.append(row)
        speakers.append(speaker)
        values.append(value)
    if unknown:
        found = sorted(unknown)[:3]
        raise DataError(name, f"unknown speaker(s) {found}; expected Ellie or Participant")
    columns = {
        "start_time": np.frombuffer(starts, dtype=np.float64),
        "stop_time": np.frombuffer(stops, dtype=np.float64),
        "speaker": np.array(speakers, dtype=object),
    }
    del speakers  # one list of pointers at a time: the frame's columns are their own
    columns["value"] = np.array(values, dtype=object)
    del values
    out = pd.DataFrame(columns, copy=False)
    out.attrs["unusable_rows"] = unusable
    out.attrs["file_rows"] = rows.tolist()
    return out
