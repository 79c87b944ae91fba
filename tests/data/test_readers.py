"""The per-file parsers on well-formed files and the real corpus's quirks.

Malformed files are in ``test_errors.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.data import formats, readers


def test_transcript_is_tab_separated_with_the_four_columns(daic):
    frame = readers.parse_transcript(daic.transcript(), "300_TRANSCRIPT.csv")
    assert list(frame.columns) == list(formats.TRANSCRIPT_COLUMNS)
    assert len(frame) == 5
    assert frame["start_time"].dtype == np.float64
    assert frame["start_time"].tolist() == [0.5, 2.5, 4.2, 5.5, 9.5]
    assert frame["speaker"].tolist() == ["Ellie", "Participant"] * 2 + ["Ellie"]


def test_coded_interviewer_lines_keep_only_their_text(daic):
    rows = [
        (1.0, 2.0, "Ellie", "yeah3 (yeah)"),
        (2.0, 3.0, "Ellie", "how_doing (how are you doing today)"),
        (3.0, 4.0, "Participant", "i was (um) tired"),
        (4.0, 5.0, "Ellie", "so how are you"),
    ]
    frame = readers.parse_transcript(daic.transcript(rows), "364_TRANSCRIPT.csv")
    assert frame["value"].tolist() == [
        "yeah",
        "how are you doing today",
        "i was (um) tired",  # participant lines are never rewritten
        "so how are you",
    ]


def test_speakers_match_case_insensitively_and_markers_survive(daic):
    rows = [
        (1.0, 2.0, "ellie", "hi"),
        (2.0, 3.0, " PARTICIPANT ", "<sync> [laughter] scrubbed_entry xxx"),
    ]
    frame = readers.parse_transcript(daic.transcript(rows), "300_TRANSCRIPT.csv")
    assert frame["speaker"].tolist() == ["Ellie", "Participant"]
    assert frame["value"].iloc[1] == "<sync> [laughter] scrubbed_entry xxx"


def test_transcript_without_interviewer_lines_parses(daic):
    rows = [(1.0, 2.0, "Participant", "i'm fine"), (3.0, 4.0, "Participant", "thanks")]
    frame = readers.parse_transcript(daic.transcript(rows), "451_TRANSCRIPT.csv")
    assert set(frame["speaker"]) == {"Participant"}


def test_transcript_with_windows_line_endings_and_quotes(daic):
    data = daic.transcript([(1.0, 2.0, "Participant", 'she said "no')]).replace(b"\n", b"\r\n")
    frame = readers.parse_transcript(data, "300_TRANSCRIPT.csv")
    assert frame["value"].tolist() == ['she said "no']


def test_header_only_transcript_is_empty_not_an_error(daic):
    frame = readers.parse_transcript(daic.transcript([]), "300_TRANSCRIPT.csv")
    assert frame.empty and list(frame.columns) == list(formats.TRANSCRIPT_COLUMNS)


def test_covarep_has_74_float32_columns_and_keeps_unvoiced_frames(daic):
    matrix = readers.parse_covarep(daic.covarep(seconds=1.0), "300_COVAREP.csv")
    assert matrix.shape == (100, 74) and matrix.dtype == np.float32
    vuv = matrix[:, formats.COVAREP_COLUMNS.index("VUV")]
    assert set(np.unique(vuv)) == {0.0, 1.0}
    unvoiced = matrix[vuv == 0]
    assert np.all(unvoiced[:, 0] == 0)  # F0 is meaningless (0) where VUV = 0
    assert matrix[0, 0] == pytest.approx(112.5)


def test_numbers_are_the_nearest_float32_of_the_text_and_threads_change_nothing(daic):
    data = daic.covarep(seconds=3.0)
    text = [line.split(b",") for line in data.splitlines()]
    exact = np.array([[np.float32(float(cell)) for cell in row] for row in text])  # via float64
    threaded = readers.parse_covarep(data, "300_COVAREP.csv")
    with readers.single_threaded():
        alone = readers.parse_covarep(data, "300_COVAREP.csv")
    np.testing.assert_array_equal(threaded, exact)
    np.testing.assert_array_equal(alone, threaded)
    (row,) = readers.parse_covarep(b",".join([b"0.1", b"-1e-07", *[b"3.14159"] * 72]), "x")
    assert row[0] == np.float32(0.1) and row[1] == np.float32(-1e-07)


def test_covarep_without_trailing_newline(daic):
    data = daic.covarep(seconds=0.02).rstrip(b"\n")
    assert readers.parse_covarep(data, "300_COVAREP.csv").shape == (2, 74)


def test_formant_has_5_columns(daic):
    matrix = readers.parse_formant(daic.formant(seconds=0.5), "300_FORMANT.csv")
    assert matrix.shape == (50, 5)
    assert matrix[0].tolist() == pytest.approx([710.2, 1220.5, 2600.1, 3400.7, 4400.3])


@pytest.mark.parametrize("kind", list(formats.CLNF_FILES))
def test_every_clnf_kind_parses_with_its_exact_header(daic, kind):
    table = readers.parse_clnf(daic.clnf(kind, seconds=1.0), f"300_{kind}.txt", kind)
    n_columns = len(formats.CLNF_FILES[kind][1])
    assert table.kind == kind
    assert table.values.shape == (30, n_columns) and table.values.dtype == np.float32
    assert table.columns == formats.CLNF_FILES[kind][1]
    assert table.timestamp[1] == pytest.approx(1 / 30, abs=1e-4)
    assert table.success.all()


def test_clnf_header_widths_match_the_spec():
    widths = {k: len(formats.CLNF_LEAD + cols) for k, (_, cols) in formats.CLNF_FILES.items()}
    assert widths == {"aus": 24, "landmarks": 140, "landmarks3d": 208, "gaze": 16, "pose": 10}


def test_clnf_frames_without_a_face_are_flagged(daic):
    flags = [True, False, False, True]
    table = readers.parse_clnf(daic.clnf("pose", success=flags), "300_CLNF_pose.txt", "pose")
    assert table.success.tolist() == flags
    assert table.confidence[1] == 0
    assert np.all(table.values[1] == 0)


def test_clnf_with_windows_line_endings(daic):
    data = daic.clnf("gaze", seconds=0.1).replace(b"\n", b"\r\n")
    table = readers.parse_clnf(data, "300_CLNF_gaze.txt", "gaze")
    assert table.values.shape == (3, 12)
