"""Reading stops where a file stops making sense: lying zip headers, compression methods
that inflate without bound, wide transcript rows, rows with no line break, and memory
running out (never called a reader bug).

No memory is measured here (``benchmarks/upload_memory.py`` does): each test checks that
reading stops, or refuses, with an error naming the file and the problem.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.data import formats, readers
from core.data.check import check_session
from core.data.errors import DataError
from core.data.sources import open_session
from core.data.upload import format_limit, open_upload

PID = 300
TRANSCRIPT = formats.session_file(PID, "transcript")
COVAREP = formats.session_file(PID, "covarep")
HEADER = "\t".join(formats.TRANSCRIPT_COLUMNS)


def _zip(
    files: dict[str, bytes],
    method: int = zipfile.ZIP_DEFLATED,
    declare: dict[str, int] | None = None,
) -> bytes:
    """A zip of ``files``; ``declare`` makes the directory state other sizes (a lying header)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, size in (declare or {}).items():
            # the central directory, which zipfile (and this app) trusts, is written on close
            archive.getinfo(name).file_size = size
    return buffer.getvalue()


def _session_zip(root: Path, daic, **kwargs) -> Path:
    """Write ``300_P.zip`` holding a clean session, as :func:`_zip` builds it."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{formats.session_folder(PID)}.zip"
    path.write_bytes(_zip(daic.session_files(PID), **kwargs))
    return path


# --- item 11: members are read through a stream that stops at the declared size ---------


def test_a_member_inflating_past_its_declared_size_stops_there(tmp_path, daic):
    # 4 MB of zeros whose directory entry declares 5,000 bytes: reading stops at 5,001
    files = {**daic.session_files(PID), COVAREP: bytes(4 * 1024**2)}
    path = tmp_path / "300_P.zip"
    path.write_bytes(_zip(files, declare={COVAREP: 5000}))
    source = open_session(path)
    with pytest.raises(DataError) as caught:
        source.read_bytes("covarep")
    assert caught.value.file == f"300_P.zip:{COVAREP}"
    assert "inflates to more than the 5,000 bytes the archive's directory declares" in str(
        caught.value
    )
    assert source.read_bytes("transcript") == daic.transcript()  # the honest members read


def test_an_uploaded_member_with_a_lying_header_is_named_and_the_rest_checked(tmp_path, daic):
    files = {**daic.session_files(PID), COVAREP: bytes(4 * 1024**2)}
    upload = open_upload(_zip(files, declare={COVAREP: 5000}), "mine.zip", tmp_path / "w")
    assert upload.modalities == ["text", "face"]
    assert upload.missing["audio"].startswith(f"mine.zip:{COVAREP}: inflates to more than")


def test_a_member_holding_less_than_declared_is_refused(tmp_path, daic):
    path = _session_zip(tmp_path, daic, declare={TRANSCRIPT: len(daic.transcript()) + 10})
    with pytest.raises(DataError, match="fewer than the .* the archive's directory declares"):
        open_session(path).read_bytes("transcript")


@pytest.mark.parametrize(
    ("method", "label"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")]
)
def test_compression_methods_the_app_does_not_need_are_refused_by_name(
    tmp_path, daic, method, label
):
    path = _session_zip(tmp_path / "corpus", daic, method=method)
    with pytest.raises(DataError) as caught:
        open_session(path).read_bytes("covarep")
    assert caught.value.file == f"300_P.zip:{COVAREP}"
    assert f"compression method {method} ({label})" in caught.value.problem
    assert "deflate" in caught.value.problem  # what to do instead

    # an upload is refused from its directory, before anything is inflated, even when
    # the member lies about its size (a 16 MB bzip2 member declaring 5,000 bytes)
    files = {**daic.session_files(PID), COVAREP: bytes(16 * 1024**2)}
    data = _zip(files, method=method, declare={COVAREP: 5000})
    with pytest.raises(DataError) as caught:
        open_upload(data, "300_P.zip", tmp_path / "w")
    assert caught.value.file.startswith("300_P.zip:300_")
    assert f"compression method {method} ({label})" in caught.value.problem


def test_a_transcript_declaring_more_than_its_format_limit_is_refused_unread(tmp_path, daic):
    # a transcript takes more memory per byte than the numeric tables: its own limit,
    # below the session's, refuses a declaration the session's limit would let through
    declared = format_limit("transcript") + 1
    data = _zip(daic.session_files(PID), declare={TRANSCRIPT: declared})
    with pytest.raises(DataError) as caught:
        open_upload(data, "300_P.zip", tmp_path / "w")
    assert caught.value.file == f"300_P.zip:{TRANSCRIPT}"
    assert "over the limit of" in caught.value.problem
    assert "for an NNN_TRANSCRIPT.csv file" in caught.value.problem
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").iterdir())


# --- item 11: transcripts are read line by line with a field limit -----------------------


@pytest.mark.parametrize("row", [2, 3])
def test_a_transcript_row_of_a_million_fields_is_refused_with_its_row(row):
    lines = [HEADER, "1\t2\tEllie\thi", "3\t4\tParticipant\tho"]
    lines[row - 1] = lines[row - 1] + "\tx" * 1_000_000
    data = ("\n".join(lines) + "\n").encode()
    with pytest.raises(DataError) as caught:
        readers.parse_transcript(data, "300_P/300_TRANSCRIPT.csv")
    assert caught.value.file == "300_P/300_TRANSCRIPT.csv"
    assert f"row {row} has more than 4 tab-separated fields, expected 4" in caught.value.problem


def test_a_transcript_row_with_too_few_fields_is_named():
    data = f"{HEADER}\n1\t2\tEllie\thi\n3\t4\n".encode()
    with pytest.raises(DataError, match=r"row 3 has 2 tab-separated field\(s\), expected 4"):
        readers.parse_transcript(data, "300_TRANSCRIPT.csv")


def test_a_row_without_its_text_has_empty_text_and_blank_lines_keep_row_numbers():
    data = f"{HEADER}\n1\t2\tEllie\thi\n\n3\t4\tParticipant\n5\tinf\tEllie\tx\n".encode()
    frame = readers.parse_transcript(data, "300_TRANSCRIPT.csv")
    assert frame["value"].tolist() == ["hi", ""]
    assert frame.attrs["file_rows"] == [2, 4] and frame.attrs["unusable_rows"] == [5]


# --- item 12: a row with no line break is no table ---------------------------------------


def test_a_sparse_covarep_file_is_not_a_covarep_table(tmp_path, daic):
    # one real row, then a hole: what a sparse or interrupted copy leaves (the issue's
    # was 2 GB; 3 MiB, more than the parser's 1 MiB block, gives the same pyarrow error)
    folder = daic.session(tmp_path, PID)
    path = folder / COVAREP
    path.write_text(daic.covarep_row() + "\n")
    os.truncate(path, 3 * 1024**2)
    modalities, problems = check_session(open_session(folder))
    assert "audio" not in modalities
    (problem,) = [p for p in problems if p.startswith(f"300_P/{COVAREP}")]
    assert "is not a COVAREP table: row 2 is 3,145,353 bytes long" in problem
    assert "NUL bytes" in problem and "straddl" not in problem


def test_a_clnf_row_longer_than_a_parse_block_names_the_row_and_its_text(daic):
    data = daic.clnf("pose") + b"1" * (2 * 1024**2) + b"\n"
    with pytest.raises(DataError) as caught:
        readers.parse_clnf(data, "300_CLNF_pose.txt", "pose")
    rows = daic.clnf("pose").count(b"\n") + 1
    assert f"is not a CLNF table: row {rows} is 2,097,152 bytes long" in caught.value.problem
    assert "'1111" in caught.value.problem


# --- a MemoryError is never a reader bug -------------------------------------------------

_LIMITED = """
import resource, sys
from pathlib import Path
from core.data.check import check_session
from core.data.sources import open_session
size = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1])
room = size * 1024 + 256 * 1024**2  # far less than the 1 GB file
resource.setrlimit(resource.RLIMIT_AS, (room, room))
modalities, problems = check_session(open_session(Path(sys.argv[1])))
print("\\n".join(problems))
"""


@pytest.mark.slow
def test_running_out_of_memory_is_reported_as_such_not_as_a_reader_bug(tmp_path, daic):
    # a real process whose address space cannot hold the 1 GB (sparse) COVAREP file
    folder = daic.session(tmp_path, PID)
    os.truncate(folder / COVAREP, 10**9)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED, str(folder)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (problem,) = [p for p in done.stdout.splitlines() if COVAREP in p]
    assert problem.startswith(f"300_P/{COVAREP}: ran out of memory while reading it (1,000.0 MB)")
    assert "bug" not in done.stdout
