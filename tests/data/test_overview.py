"""The Data page's summaries and display tracks, on hand-made data and a small corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import Corpus, formats
from core.data import overview as ov
from core.data.readers import ClnfTable


@pytest.fixture(scope="module")
def corpus(small_corpus) -> Corpus:
    return Corpus(small_corpus)


def make_table(rows: list[tuple]) -> pd.DataFrame:
    """A Corpus.table()-like frame from (id, split, binary, score, gender, modalities)."""
    frame = pd.DataFrame(
        rows, columns=["id", "split", "phq8_binary", "phq8_score", "gender", "modalities"]
    )
    frame["problems"] = [[] for _ in rows]
    return frame


MIXED = make_table(
    [
        (300, "train", 1, 14, 1, "text, audio, face"),
        (301, "train", 0, 10, 0, "text, audio"),  # score 10 but binary 0: shown as it is
        (302, "dev", 0, 3, 1, "text, audio, face"),
        (303, "test", None, None, 0, "face"),  # unlabelled test participant
        (304, None, None, None, None, "text"),  # session in no split file
    ]
)

# --- Corpus summaries ---------------------------------------------------------------------


def test_split_summary_matches_the_corpus(corpus):
    table = corpus.table()
    summary = ov.split_summary(table).set_index("split")
    assert list(summary.index) == ["train", "dev", "test"]
    for split, counts in corpus.splits().items():
        row = summary.loc[split]
        assert row["participants"] == counts["n"]
        assert row["depressed"] == counts["depressed"]
        assert row["depressed_share"] == pytest.approx(counts["depressed"] / counts["n"])
        assert row["female"] + row["male"] == counts["n"]
        assert row["text"] == row["audio"] == row["face"] == counts["n"]


def test_split_summary_with_unlabelled_and_unlisted_sessions():
    summary = ov.split_summary(MIXED).set_index("split")
    assert list(summary.index) == ["train", "dev", "test", ov.NO_SPLIT]
    assert summary.loc["train", "depressed_share"] == 0.5
    assert summary.loc["train", "mean_score"] == 12
    assert np.isnan(summary.loc["test", "depressed_share"])  # no labels, not 0 %
    assert summary.loc["test", "labelled"] == 0
    assert summary.loc[ov.NO_SPLIT, ["participants", "text", "audio"]].tolist() == [1, 1, 0]
    assert summary.loc["train", ["female", "male"]].tolist() == [1, 1]


def test_score_histogram_keeps_the_files_labels():
    counts = ov.score_histogram(MIXED)
    assert counts["count"].sum() == 3  # only scored participants
    assert counts.to_dict("records") == [
        {"split": "train", "score": 10, "label": "not depressed", "count": 1},
        {"split": "train", "score": 14, "label": "depressed", "count": 1},
        {"split": "dev", "score": 3, "label": "not depressed", "count": 1},
    ]


def test_score_histogram_of_a_corpus_counts_everyone(corpus):
    table = corpus.table()
    counts = ov.score_histogram(table)
    assert counts["count"].sum() == len(table)
    depressed = counts[counts["label"] == "depressed"]
    assert depressed["count"].sum() == sum(s["depressed"] for s in corpus.splits().values())
    assert counts["score"].between(0, 24).all()


def test_gender_counts():
    counts = ov.gender_counts(MIXED)
    assert counts.to_dict("records") == [
        {"split": "train", "gender": "female", "count": 1},
        {"split": "train", "gender": "male", "count": 1},
        {"split": "dev", "gender": "male", "count": 1},
        {"split": "test", "gender": "female", "count": 1},
        {"split": ov.NO_SPLIT, "gender": "unknown", "count": 1},
    ]


def test_participant_label():
    rows = MIXED.to_dict("records")
    assert ov.participant_label(rows[0]) == "300 · train · depressed (PHQ-8 14)"
    assert ov.participant_label(rows[3]) == "303 · test · unknown"
    assert ov.participant_label(rows[4]) == f"304 · {ov.NO_SPLIT} · unknown"
    nothing = {"id": 305, "split": "dev", "phq8_binary": 0.0, "phq8_score": 2.0, "modalities": ""}
    assert ov.participant_label(nothing) == "305 · dev · not depressed (PHQ-8 2) · no session files"


def test_problem_rows_put_the_corpus_first():
    people = [
        {"id": 301, "split": "train", "problems": ["binary 0 but score 10"]},
        {"id": 302, "split": None, "problems": ["a", "b"]},
        {"id": 303, "split": "dev", "problems": []},
    ]
    rows = ov.problem_rows(["no dev split file"], people)
    assert rows["participant"].tolist() == ["corpus", "301", "302", "302"]
    assert rows["split"].tolist() == ["", "train", ov.NO_SPLIT, ov.NO_SPLIT]
    assert rows["problem"].iloc[0] == "no dev split file"
    empty = ov.problem_rows([], people[2:])
    assert empty.empty and list(empty.columns) == ["participant", "split", "problem"]


# --- One session ----------------------------------------------------------------------------

TRANSCRIPT = pd.DataFrame(
    {
        "start_time": [0.5, 2.0, 3.0, 6.0, 8.0],
        "stop_time": [1.5, 4.0, 5.0, 7.5, 9.0],
        "speaker": ["Ellie", "Participant", "Participant", "Ellie", "Participant"],
        "value": ["hi", "i am fine", "really fine", "okay", "yes"],
    }
)


def test_transcript_view_marks_the_participants_lines():
    view = ov.transcript_view(TRANSCRIPT)
    assert list(view.columns) == ["start", "stop", "speaker", "text", "used"]
    assert view["used"].tolist() == [False, True, True, False, True]
    assert view["text"].tolist() == TRANSCRIPT["value"].tolist()


def test_turn_spans_merge_overlapping_lines():
    np.testing.assert_allclose(ov.turn_spans(TRANSCRIPT), [[2.0, 5.0], [8.0, 9.0]])


def test_speaking_summary():
    said = ov.speaking_summary(TRANSCRIPT)
    assert said == {
        "participant_lines": 3,
        "interviewer_lines": 2,
        "participant_seconds": pytest.approx(4.0),  # 2-5 merged, plus 8-9
        "interviewer_seconds": pytest.approx(2.5),
        "participant_words": 6,
        "session_seconds": 9.0,
    }


def covarep(seconds: float) -> np.ndarray:
    """``(100 s, 74)``: voiced at 120 Hz every other row, unvoiced rows in between."""
    rows = int(seconds * formats.COVAREP_RATE_HZ)
    matrix = np.full((rows, 74), 0.5, np.float32)
    unvoiced = np.arange(rows) % 2 == 1
    matrix[:, 0], matrix[:, 1] = 120.0, 1.0
    matrix[unvoiced, :11] = 0.0  # F0, VUV and the glottal columns read 0 when unvoiced
    return matrix


def test_audio_tracks_average_voiced_frames_and_leave_gaps():
    matrix = covarep(3.0)
    matrix[100:200] = 0.0  # the middle second is scrubbed
    tracks = ov.audio_tracks(matrix, rate_hz=2.0)
    assert list(tracks.columns) == ["time", *formats.COVAREP_COLUMNS]
    np.testing.assert_allclose(tracks["time"], [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
    np.testing.assert_allclose(tracks["F0"], [120, 120, np.nan, np.nan, 120, 120])  # not 60
    np.testing.assert_allclose(tracks["VUV"], [0.5, 0.5, np.nan, np.nan, 0.5, 0.5])
    np.testing.assert_allclose(tracks["MCEP_0"], [0.5, 0.5, np.nan, np.nan, 0.5, 0.5])


def test_audio_tracks_of_a_silent_or_empty_file():
    assert ov.audio_tracks(np.zeros((0, 74), np.float32)).empty
    silent = ov.audio_tracks(np.zeros((300, 74), np.float32))
    assert silent.empty and "F0" in silent.columns


def test_face_tracks_skip_frames_without_a_face():
    times = np.arange(60) / 30.0  # 2 s at 30 fps
    success = np.ones(60, bool)
    success[:15] = False  # the first half second has no face
    values = np.tile(np.float32([1.0, 2.0]), (60, 1))
    values[~success] = 0.0
    table = ClnfTable("aus", times, np.ones(60, np.float32), success, values, ("AU12_r", "AU04_r"))
    tracks = ov.face_tracks(table, rate_hz=2.0)
    assert list(tracks.columns) == ["time", "face_found", "AU12_r", "AU04_r"]
    np.testing.assert_allclose(tracks["face_found"], [0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(tracks["AU12_r"], [np.nan, 1.0, 1.0, 1.0])


def test_tracks_of_a_corpus_session(corpus):
    pid = corpus.ids()[0]
    covarep_rows = len(corpus.covarep(pid))
    audio = ov.audio_tracks(corpus.covarep(pid))
    assert len(audio) <= np.ceil(covarep_rows / formats.COVAREP_RATE_HZ * ov.DISPLAY_RATE_HZ)
    assert np.diff(audio["time"]).round(6).tolist() == [1 / ov.DISPLAY_RATE_HZ] * (len(audio) - 1)
    voiced_f0 = audio["F0"].dropna()
    assert len(voiced_f0) and (voiced_f0 > 40).all()  # never dragged towards 0 Hz
    assert audio["VUV"].dropna().between(0, 1).all()
    face = ov.face_tracks(corpus.clnf(pid, "aus"))
    assert {"face_found", "AU12_r", "AU04_r", "AU06_r"} <= set(face.columns)
    assert face["face_found"].dropna().between(0, 1).all()


def test_readable_participants_use_words_for_gender_and_label():
    table = pd.DataFrame(
        {
            "id": [900, 901, 902],
            "split": ["train", "dev", "test"],
            "phq8_binary": [1, 0, None],
            "phq8_score": [14, 3, None],
            "gender": [0, 1, None],
            "modalities": ["audio, face, text"] * 3,
            "problems": [[], [], []],
            "n_problems": [0, 0, 0],
        }
    )
    readable = ov.readable_participants(table)
    assert readable["gender"].tolist() == ["female", "male", "unknown"]
    assert readable["label"].tolist() == ["depressed", "not depressed", "unknown"]
    assert "phq8_binary" not in readable.columns and "problems" not in readable.columns
