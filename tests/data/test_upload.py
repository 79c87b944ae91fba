"""``open_upload``: one session zip checked like the corpus, refused clearly, kept apart."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.data import formats
from core.data.errors import DataError
from core.data.frames import FeatureSettings, extract_session
from core.data.sources import find_sessions
from core.data.upload import (
    MAX_MEMBERS,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    PARSE_BYTES_PER_BYTE,
    UPLOAD_MEMORY_BUDGET,
    UploadedSession,
    UploadFolder,
    open_upload,
    server_uploads_folder,
)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def session(small_corpus: Path) -> tuple[int, dict[str, bytes]]:
    """The first session of the small corpus: its ID and files by name."""
    pid, folder = next(iter(find_sessions(small_corpus).items()))
    return pid, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def session_zip(session) -> bytes:
    return _zip(session[1])


def _refused(data: bytes, filename: str, workdir: Path, **limits) -> DataError:
    """Upload, expect a DataError naming the file, and check nothing was left behind."""
    with pytest.raises(DataError) as caught:
        open_upload(data, filename, workdir, **limits)
    assert caught.value.file.startswith(filename)
    assert filename in str(caught.value)
    assert not workdir.exists() or not any(workdir.iterdir())
    return caught.value


# --- accepted uploads ------------------------------------------------------------------


def test_limit_matches_the_streamlit_upload_limit():
    config = (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {MAX_UPLOAD_BYTES // 1024**2}\n" in config


def test_valid_upload_opens_as_a_one_session_corpus(session, session_zip, tmp_path):
    pid, _ = session
    upload = open_upload(session_zip, f"{pid}_P.zip", tmp_path / "work")
    assert isinstance(upload, UploadedSession)
    assert (upload.pid, upload.filename) == (pid, f"{pid}_P.zip")
    assert upload.modalities == ["text", "audio", "face"]
    assert upload.problems == [] and upload.missing == {}
    assert upload.corpus.ids() == [pid]
    assert upload.corpus.participants[pid].split is None
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [f"{pid}_P.zip"]
    frames = extract_session(upload.corpus, pid, FeatureSettings(("covarep",)))
    assert len(frames) > 0 and frames.values.shape[1] == len(frames.feature_names)
    assert upload.corpus.transcript(pid)["speaker"].isin(["Ellie", "Participant"]).all()


@pytest.mark.parametrize("top", ["folder", "renamed", "folder+renamed"])
def test_session_in_a_folder_or_under_a_browser_name(session, tmp_path, top):
    pid, files = session
    if "folder" in top:
        files = {f"{pid}_P/{name}": data for name, data in files.items()}
        files[f"{pid}_P/"] = b""  # the folder entry zip tools write
        files[f"__MACOSX/{pid}_P/._{pid}_TRANSCRIPT.csv"] = b"\x00\x05\x16\x07"
    filename = "upload (1).zip" if "renamed" in top else f"{pid}_P.zip"
    upload = open_upload(_zip(files), filename, tmp_path / "work")
    assert upload.pid == pid and upload.filename == filename
    assert upload.modalities == ["text", "audio", "face"]
    stray = [f"ignored stray macOS file __MACOSX/{pid}_P/._{pid}_TRANSCRIPT.csv"]
    assert upload.problems == (stray if "folder" in top else [])


def test_broken_covarep_keeps_the_other_modalities_and_names_the_file(session, tmp_path):
    pid, files = session
    name = formats.session_file(pid, "covarep")
    files = {**files, name: b"\n".join(r.rsplit(b",", 1)[0] for r in files[name].splitlines())}
    upload = open_upload(_zip(files), "mine.zip", tmp_path / "work")
    assert upload.modalities == ["text", "face"]
    assert any(p.startswith(f"mine.zip:{name}") and "73 columns" in p for p in upload.problems)


def test_unused_large_member_does_not_count_against_the_guard(session, tmp_path):
    pid, files = session
    files = {**files, f"{pid}_AUDIO.wav": bytes(4 * 1024**2)}
    budget = sum(len(d) for d in session[1].values()) + 1024
    upload = open_upload(_zip(files), f"{pid}_P.zip", tmp_path / "w", max_unpacked_bytes=budget)
    assert upload.modalities == ["text", "audio", "face"]


# --- refused uploads -------------------------------------------------------------------


def test_refused_upload_changes_nothing_in_the_corpus(small_corpus, session, tmp_path):
    pid, files = session
    before = _tree_hash(small_corpus)
    garbage = {name: b"\x00garbage\xff" for name in files}
    error = _refused(_zip(garbage), f"{pid}_P.zip", tmp_path / "work")
    assert "no usable" in error.problem and formats.session_file(pid, "covarep") in error.problem
    open_upload(_zip(files), f"{pid}_P.zip", tmp_path / "work2")
    assert _tree_hash(small_corpus) == before


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda z: b"", "is empty"),
        (lambda z: os.urandom(4096), "not a zip archive"),
        (lambda z: z[: len(z) // 2], "cut short"),
        (lambda z: _zip({"notes.txt": b"hello", "data/x.csv": b"1,2"}), "no DAIC-WOZ session"),
        (lambda z: _zip({"../evil.txt": b"x"}), "unsafe path"),
        (lambda z: _zip({"/etc/cron.d/x": b"x"}), "unsafe path"),
        (lambda z: _zip({"a\\..\\..\\x.txt": b"x"}), "unsafe path"),
        (
            lambda z: _zip({"300_TRANSCRIPT.csv": b"a", "301_COVAREP.csv": b"b"}),
            "several participants (300, 301)",
        ),
    ],
    ids=["empty", "random", "truncated", "unrelated", "dotdot", "absolute", "backslash", "mixed"],
)
def test_malformed_upload_is_refused_with_the_file_named(session_zip, tmp_path, make, expected):
    error = _refused(make(session_zip), "upload.zip", tmp_path / "work")
    assert expected in error.problem


def test_file_name_and_contents_must_agree(session, session_zip, tmp_path):
    pid, _ = session
    error = _refused(session_zip, f"{pid + 1}_P.zip", tmp_path / "work")
    assert f"participant {pid + 1}" in error.problem and f"{pid}_P.zip" in error.problem


def test_oversized_upload_names_its_size_and_the_limit(session_zip, tmp_path):
    error = _refused(session_zip, "big.zip", tmp_path / "work", max_bytes=50 * 1024)
    assert "limit of 50 KB" in error.problem
    assert f"{len(session_zip) / 1024**2:.4g} MB" in error.problem


def test_zip_bomb_is_refused_before_anything_is_read(session, tmp_path):
    pid, files = session
    bomb = {**files, formats.session_file(pid, "covarep"): bytes(16 * 1024**2)}
    data = _zip(bomb)
    assert len(data) - len(_zip(files)) < 64 * 1024  # 16 MB that compress to almost nothing
    error = _refused(data, f"{pid}_P.zip", tmp_path / "work", max_unpacked_bytes=8 * 1024**2)
    assert "unpack" in error.problem and "limit of 8 MB" in error.problem


def test_archive_with_too_many_entries_is_refused(tmp_path):
    data = _zip({f"f{i}.txt": b"" for i in range(MAX_MEMBERS + 1)})
    assert "1001 entries" in _refused(data, "many.zip", tmp_path / "work").problem


def _patched(data: bytes, offset: int, value: int) -> bytes:
    """Set a 16-bit field of the (only) central-directory entry, as another tool would."""
    at = data.rindex(b"PK\x01\x02") + offset
    return data[:at] + value.to_bytes(2, "little") + data[at + 2 :]


@pytest.mark.parametrize(
    ("offset", "value", "expected"),
    [(8, 0x1, "password-protected"), (10, 9, "compression method 9")],
    ids=["encrypted", "deflate64"],
)
def test_member_zipfile_cannot_read_is_refused_by_name(session, tmp_path, offset, value, expected):
    pid, files = session
    member = formats.session_file(pid, "transcript")
    data = _patched(_zip({member: files[member]}), offset, value)
    error = _refused(data, "locked.zip", tmp_path / "work")
    assert error.file == f"locked.zip:{member}" and expected in error.problem


def test_workdir_must_be_fresh(session_zip, session, tmp_path):
    (tmp_path / "other.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        open_upload(session_zip, f"{session[0]}_P.zip", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["other.txt"]


def test_damaged_covarep_says_which_row_and_why_audio_is_missing(session, tmp_path):
    pid, files = session
    name = formats.session_file(pid, "covarep")
    lines = files[name].split(b"\n")
    lines[10] = b",".join(lines[10].split(b",")[:-1])
    upload = open_upload(_zip({**files, name: b"\n".join(lines)}), "mine.zip", tmp_path / "w")
    assert upload.modalities == ["text", "face"]
    problem = "row 11 has 73 columns, expected 74"
    assert upload.missing["audio"].startswith(f"mine.zip:{name}: {problem}")
    assert list(upload.missing) == ["audio"]


def test_a_text_cell_in_covarep_masks_its_frame_and_keeps_audio(session, tmp_path):
    # one unreadable cell makes its frame unusable (core.data.validity), not the file
    pid, files = session
    name = formats.session_file(pid, "covarep")
    lines = files[name].split(b"\n")
    cells = lines[10].split(b",")
    lines[10] = b",".join([*cells[:3], b"loud", *cells[4:]])
    upload = open_upload(_zip({**files, name: b"\n".join(lines)}), "mine.zip", tmp_path / "w")
    assert upload.modalities == ["text", "audio", "face"] and upload.missing == {}


def test_missing_files_are_named_as_the_reason(session, tmp_path):
    pid, files = session
    clnf = [formats.session_file(pid, kind) for kind in formats.MODALITY_FILES["face"]]
    kept = {name: data for name, data in files.items() if name not in clnf}
    upload = open_upload(_zip(kept), "mine.zip", tmp_path / "w")
    assert upload.missing == {"face": f"mine.zip has no {' or '.join(clnf)}"}


# --- memory budget and where uploads live -----------------------------------------------


def test_a_small_zip_declaring_two_gigabytes_is_refused_before_it_is_inflated(session, tmp_path):
    pid, files = session
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        # The directory declares 1.99 GB, as a bomb's would; the data is the real file.
        archive.getinfo(formats.session_file(pid, "covarep")).file_size = 1_990_000_000
    data = buffer.getvalue()
    assert len(data) < 8 * 1024**2
    error = _refused(data, f"{pid}_P.zip", tmp_path / "work")  # the default limits
    assert "would unpack to 1904 MB" in error.problem and "limit of 409.6 MB" in error.problem
    assert MAX_UNPACKED_BYTES * PARSE_BYTES_PER_BYTE <= UPLOAD_MEMORY_BUDGET


@pytest.mark.slow
def test_a_killed_servers_uploads_are_cleared_when_the_next_one_starts(tmp_path):
    code = (
        "import sys, time; from pathlib import Path\n"
        "from core.data.upload import UploadFolder, server_uploads_folder\n"
        "folder = UploadFolder(server_uploads_folder(Path(sys.argv[1])))\n"
        "(folder.path / '900_P.zip').write_bytes(b'interview')\n"
        "print(folder.path, flush=True); time.sleep(120)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], cwd=repo, stdout=subprocess.PIPE, text=True
    )
    try:
        upload = Path(server.stdout.readline().strip())
        assert (upload / "900_P.zip").exists()
        assert server_uploads_folder(tmp_path) != upload.parent  # a live server's is kept
        assert upload.exists()
    finally:
        server.send_signal(signal.SIGKILL)  # no atexit, no clean-up
        server.wait()
    assert upload.exists()
    (tmp_path / "daic-uploads-notes").mkdir()  # not a server's folder: never touched
    mine = server_uploads_folder(tmp_path)  # the next server starts
    assert not upload.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, "daic-uploads-notes"])


def test_an_upload_folder_goes_when_nothing_holds_it(tmp_path):
    folder = UploadFolder(tmp_path)
    (folder.path / "900_P.zip").write_bytes(b"interview")
    path = folder.path
    del folder
    gc.collect()
    assert not path.exists()
    folder = UploadFolder(tmp_path)
    folder.remove()
    folder.remove()
    assert not folder.path.exists()
