"""Opening a corpus: sessions in folders and archives, stray files, labels, readers."""

from __future__ import annotations

import zipfile

import pytest

from core.data import Corpus, DataError, formats
from core.data.sources import find_sessions, open_session


def test_clean_corpus(tmp_path, daic):
    corpus = Corpus(daic.corpus(tmp_path))
    assert list(corpus.participants) == [300, 301, 302, 303]
    assert corpus.problems == []
    assert all(p.problems == [] for p in corpus.participants.values())
    assert corpus.splits() == {
        "train": {"n": 2, "depressed": 1},
        "dev": {"n": 1, "depressed": 1},
        "test": {"n": 1, "depressed": 1},
    }
    assert corpus.participants[300].modalities == ["text", "audio", "face"]
    assert corpus.ids("train") == [300, 301]
    assert corpus.labels([300, 301]).tolist() == [1, 0]


def test_sessions_in_archives_read_like_folders(tmp_path, daic):
    folder = Corpus(daic.corpus(tmp_path / "folders"))
    zipped = Corpus(daic.corpus(tmp_path / "zips", archive=True))
    assert zipped.source(300).is_archive and not folder.source(300).is_archive
    assert zipped.source(300).display("covarep") == "300_P.zip:300_COVAREP.csv"
    assert (zipped.covarep(300) == folder.covarep(300)).all()
    assert zipped.transcript(300).equals(folder.transcript(300))
    assert (zipped.clnf(300, "aus").values == folder.clnf(300, "aus").values).all()
    assert zipped.formant(300).shape == (500, 5)


def test_folder_wins_over_archive(tmp_path, daic):
    daic.session(tmp_path, 300, archive=True)
    daic.session(tmp_path, 300, seconds=2.0)
    assert find_sessions(tmp_path) == {300: tmp_path / "300_P"}
    assert open_session(tmp_path / "300_P").location.is_dir()


def test_files_in_a_subfolder_of_the_archive(tmp_path, daic):
    files = {f"300_P/{name}": data for name, data in daic.session_files(300).items()}
    with zipfile.ZipFile(tmp_path / "300_P.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    source = open_session(tmp_path / "300_P.zip")
    assert set(source.members) == set(formats.SESSION_FILES)


@pytest.mark.parametrize("archive", [False, True])
def test_stray_macos_files_are_ignored_and_noted(tmp_path, daic, archive):
    stray = {"._487_TRANSCRIPT.csv": b"\x00\x05\x16\x07 resource fork", "__MACOSX/._x": b"\x00"}
    daic.session(tmp_path, 487, archive=archive, extra=stray)
    (tmp_path / "._487_P.zip").write_bytes(b"\x00\x05")  # stray at the root is skipped too
    source = open_session(find_sessions(tmp_path)[487])
    assert source.members["transcript"] == "487_TRANSCRIPT.csv"
    assert any("._487_TRANSCRIPT.csv" in note for note in source.notes)
    assert list(find_sessions(tmp_path)) == [487]


def test_hog_shipped_as_text_is_noted(tmp_path, daic):
    source = open_session(daic.session(tmp_path, 300, extra={"300_CLNF_hog.txt": b"1 2 3\n"}))
    assert any("300_CLNF_hog.txt" in note and "HOG" in note for note in source.notes)


def test_file_names_match_case_insensitively(tmp_path, daic):
    path = daic.session(tmp_path, 300)
    (path / "300_TRANSCRIPT.csv").rename(path / "300_transcript.CSV")
    assert open_session(path).has("transcript")


def test_missing_files_leave_their_modality_out(tmp_path, daic):
    daic.labels(tmp_path, train=[daic.label_row(300, 0, 2)], dev=[], test=[])
    gone = {k: None for k in ("covarep", *formats.CLNF_FILES)}
    daic.session(tmp_path, 300, replace=gone)
    assert Corpus(tmp_path).participants[300].modalities == ["text"]


def test_truncated_archive_is_a_problem_not_a_crash(tmp_path, daic):
    daic.corpus(tmp_path, train=(300, 440), archive=True)
    path = tmp_path / "440_P.zip"
    path.write_bytes(path.read_bytes()[:1000])
    corpus = Corpus(tmp_path)
    assert corpus.participants[440].source is None
    assert any("440_P.zip: archive is damaged" in p for p in corpus.participants[440].problems)
    with pytest.raises(DataError, match="no readable session"):
        corpus.covarep(440)
    assert corpus.covarep(300).shape == (500, 74)


def test_sessions_and_labels_that_do_not_match(tmp_path, daic):
    daic.labels(tmp_path, train=[daic.label_row(300, 0, 2), daic.label_row(301, 1, 12)])
    daic.session(tmp_path, 300)
    daic.session(tmp_path, 999)
    corpus = Corpus(tmp_path)
    assert corpus.participants[999].split is None
    assert "not listed in any split file" in corpus.participants[999].problems[0]
    assert "no 301_P folder or archive" in corpus.participants[301].problems[0]
    with pytest.raises(DataError, match="has no participant 555"):
        corpus.source(555)


def test_known_defects_are_noted_and_transcripts_shifted(tmp_path, daic):
    daic.corpus(tmp_path, train=(318, 373), dev=(900,), test=(901,))
    corpus = Corpus(tmp_path)
    assert any("34.3 s out of sync" in p for p in corpus.participants[318].problems)
    assert any("interrupted" in p for p in corpus.participants[373].problems)
    assert corpus.participants[900].problems == []
    assert corpus.transcript(318)["start_time"].iloc[0] == pytest.approx(0.5 + 34.319917)
    assert corpus.transcript(900)["start_time"].iloc[0] == pytest.approx(0.5)


def test_root_that_is_not_a_folder(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        Corpus(tmp_path / "nowhere")


def test_table_has_one_row_per_participant(tmp_path, daic):
    table = Corpus(daic.corpus(tmp_path)).table()
    assert table["id"].tolist() == [300, 301, 302, 303]
    assert table["modalities"].iloc[0] == "text, audio, face"
    assert table["n_problems"].sum() == 0


def test_member_ids_reads_ids_from_session_file_names_only():
    from core.data.sources import member_ids

    names = [
        "300_P/300_COVAREP.csv",
        "300_TRANSCRIPT.csv",
        "__MACOSX/300_P/._301_COVAREP.csv",
        "302_notes.txt",
        "12_COVAREP.csv",
        "300_P/",
    ]
    assert member_ids(names) == {300}
    assert member_ids(["301_CLNF_AUs.txt", "300_COVAREP.csv"]) == {300, 301}
