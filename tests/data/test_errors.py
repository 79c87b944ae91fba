"""Every way a session file can be malformed raises DataError naming the file and problem."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from core.data import formats, readers
from core.data.errors import DataError
from core.data.sources import open_session

HEADER = "\t".join(formats.TRANSCRIPT_COLUMNS)
POSE_HEADER = ", ".join(formats.CLNF_LEAD + formats.POSE_COLUMNS)
POSE_ROW = "1, 0.0333, 0.98, 1, 0.1, 0.2, 500.0, 0.01, 0.02, 0.03"


def test_data_error_carries_file_and_problem():
    error = DataError("312_P/312_COVAREP.csv", "has 73 columns, expected 74")
    assert isinstance(error, Exception)
    assert error.file == "312_P/312_COVAREP.csv"
    assert error.problem == "has 73 columns, expected 74"
    assert str(error) == "312_P/312_COVAREP.csv: has 73 columns, expected 74"


def _covarep(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _row(values: list[str] | None = None, n: int = 74) -> str:
    return ",".join(values if values is not None else ["0.5"] * n)


TRANSCRIPT_CASES = {
    "empty": (b"", "file is empty"),
    "whitespace only": (b"  \n\n", "file is empty"),
    "commas": (b"start_time,stop_time,speaker,value\n1,2,Ellie,hi\n", "separated by commas"),
    "wrong header": (b"begin\tend\twho\ttext\n1\t2\tEllie\thi\n", "header is"),
    "no header": (b"1.0\t2.0\tEllie\thi\n", "header is"),
    "non-numeric time": (f"{HEADER}\n1\tsoon\tEllie\thi\n".encode(), "row 2 has a non-numeric"),
    "blank time": (f"{HEADER}\n1\t2\tEllie\thi\n\t4\tEllie\tho\n".encode(), "row 3 has a non"),
    "unknown speaker": (f"{HEADER}\n1\t2\tBob\thi\n".encode(), "unknown speaker(s) ['bob']"),
    "blank speaker": (f"{HEADER}\n1\t2\t\thi\n".encode(), "unknown speaker(s) ['']"),
    "extra field first": (f"{HEADER}\n1\t2\tEllie\thi\tx\n".encode(), "tab-separated fields"),
    "extra field later": (
        f"{HEADER}\n1\t2\tEllie\thi\n3\t4\tEllie\tho\tx\n".encode(),
        "cannot be read as tab-separated",
    ),
}


@pytest.mark.parametrize("case", list(TRANSCRIPT_CASES))
def test_malformed_transcripts(case):
    data, phrase = TRANSCRIPT_CASES[case]
    with pytest.raises(DataError) as caught:
        readers.parse_transcript(data, "300_P/300_TRANSCRIPT.csv")
    assert caught.value.file == "300_P/300_TRANSCRIPT.csv"
    assert phrase in caught.value.problem
    assert str(caught.value).startswith("300_P/300_TRANSCRIPT.csv: ")


COVAREP_CASES = {
    "empty": (b"", "file is empty"),
    "73 columns": (_covarep([_row(n=73)] * 2), "has 73 columns, expected 74"),
    "75 columns": (_covarep([_row(n=75)]), "has 75 columns, expected 74"),
    "ragged row": (_covarep([_row(), "9" + _row(n=73)]), "row 2 has 73 columns, expected 74"),
    "header line": (
        _covarep([",".join(formats.COVAREP_COLUMNS), _row()]),
        "starts with a header line",
    ),
    "tabs": (_covarep([_row().replace(",", "\t")]), "separated by tabs"),
    "semicolons": (_covarep([_row().replace(",", ";")]), "separated by semicolons"),
}


@pytest.mark.parametrize("case", list(COVAREP_CASES))
def test_malformed_covarep(case):
    data, phrase = COVAREP_CASES[case]
    with pytest.raises(DataError) as caught:
        readers.parse_covarep(data, "300_P.zip:300_COVAREP.csv")
    assert caught.value.file == "300_P.zip:300_COVAREP.csv"
    assert phrase in caught.value.problem


@pytest.mark.parametrize("cell", ["n/a?", "abc", "-1.#IND", "1.#QNAN", "inf", "-inf", "nan", ""])
def test_a_non_numeric_or_non_finite_cell_reads_as_a_gap_not_an_error(cell):
    # the frame is masked later (core.data.validity), the file is not rejected
    data = _covarep([_row(), _row(["0.5"] * 3 + [cell] + ["0.5"] * 70)])
    matrix = readers.parse_covarep(data, "300_COVAREP.csv")
    assert matrix.shape == (2, 74) and not np.isfinite(matrix[1, 3])
    assert np.isfinite(np.delete(matrix, 3, axis=1)).all() and np.isfinite(matrix[0]).all()
    table = readers.parse_clnf(
        f"{POSE_HEADER}\n{POSE_ROW}\n{POSE_ROW.replace('500.0', cell)}\n".encode(),
        "300_CLNF_pose.txt",
        "pose",
    )
    assert not np.isfinite(table.values[1, 2]) and np.isfinite(table.values[0]).all()


def test_a_blank_last_cell_reads_as_a_gap():
    # the last field of a row, where a lost value leaves the line ending in a comma
    matrix = readers.parse_covarep(_covarep([_row(), _row(["0.5"] * 73 + [""])]), "300.csv")
    assert matrix.shape == (2, 74) and np.isnan(matrix[1, 73])
    assert np.isfinite(matrix[0]).all() and np.isfinite(matrix[1, :73]).all()


def test_formant_with_covarep_width_is_refused():
    with pytest.raises(DataError, match="300_FORMANT.csv: has 74 columns, expected 5"):
        readers.parse_formant(_covarep([_row()]), "300_FORMANT.csv")


CLNF_CASES = {
    "empty": (b"", "file is empty"),
    "no header": (f"{POSE_ROW}\n{POSE_ROW}\n".encode(), "has no header line"),
    "header only": (f"{POSE_HEADER}\n".encode(), "has a header but no frames"),
    "tabs": (f"{POSE_HEADER}\n{POSE_ROW}\n".replace(", ", "\t").encode(), "separated by tabs"),
    "semicolons": (
        f"{POSE_HEADER}\n{POSE_ROW}\n".replace(", ", ";").encode(),
        "separated by semicolons",
    ),
    "wrong column count": (
        f"{POSE_HEADER}, extra\n{POSE_ROW}, 1\n".encode(),
        "has 11 columns, expected 10",
    ),
    "wrong names": (
        f"{POSE_HEADER.replace('Tx', 'pose_Tx')}\n{POSE_ROW}\n".encode(),
        "'pose_Tx' (expected 'Tx')",
    ),
    "ragged row": (f"{POSE_HEADER}\n{POSE_ROW}\n2, 0.0667, 0.9\n".encode(), "row 3 has 3"),
}


@pytest.mark.parametrize("case", list(CLNF_CASES))
def test_malformed_clnf(case):
    data, phrase = CLNF_CASES[case]
    with pytest.raises(DataError) as caught:
        readers.parse_clnf(data, "300_P/300_CLNF_pose.txt", "pose")
    assert caught.value.file == "300_P/300_CLNF_pose.txt"
    assert phrase in caught.value.problem


def test_clnf_file_of_another_kind_is_refused(daic):
    with pytest.raises(DataError, match="300_CLNF_pose.txt: has 16 columns, expected 10"):
        readers.parse_clnf(daic.clnf("gaze", seconds=0.1), "300_CLNF_pose.txt", "pose")


def test_truncated_archive_is_refused_when_opened(tmp_path, daic):
    path = daic.session(tmp_path, 440, archive=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError) as caught:
        open_session(path)
    assert caught.value.file == "440_P.zip"
    assert "archive is damaged or truncated" in caught.value.problem


def test_damaged_member_is_refused_when_read(tmp_path, daic):
    path = tmp_path / "440_P.zip"
    data = daic.covarep(seconds=2.0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("440_COVAREP.csv", data)
    raw = bytearray(path.read_bytes())
    at = raw.index(data[:50]) + 100
    raw[at : at + 4] = b"9999"  # stored data no longer matches its CRC
    path.write_bytes(bytes(raw))
    source = open_session(path)
    with pytest.raises(DataError) as caught:
        source.read_bytes("covarep")
    assert caught.value.file == "440_P.zip:440_COVAREP.csv"
    assert "damaged or truncated" in caught.value.problem


def test_missing_file_is_named(tmp_path, daic):
    source = open_session(daic.session(tmp_path, 300, replace={"formant": None}))
    with pytest.raises(DataError, match="300_P/300_FORMANT.csv: file is missing"):
        source.read_bytes("formant")


def test_badly_named_session_is_refused(tmp_path):
    (tmp_path / "session_300").mkdir()
    with pytest.raises(DataError, match="session_300: is not a session folder"):
        open_session(tmp_path / "session_300")
