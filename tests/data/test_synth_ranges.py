"""The synthetic files' values stay where real DAIC-WOZ files put them, column by column.

The target ranges are those of real sessions (``docs/data-formats.md``); a column that
drifts out of them fails here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.data import formats
from core.data.corpus import Corpus
from core.data.synth import write_corpus

VOICED_RANGES = {  # column: (low, high) on voiced frames of real files
    "H1H2": (-5.0, 0.0),
    "PSP": (0.0, 0.10),
    "QOQ": (0.0, 0.46),
    "Rd_conf": (0.44, 0.53),
    "NAQ": (0.0, np.inf),
    "MDQ": (0.0, np.inf),
    "Rd": (0.0, np.inf),
    **{f"HMPDD_{i}": (-np.inf, 0.0) for i in range(3, 13)},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("ranges") / "corpus"
    write_corpus(root, participants=8, minutes=1.0, seed=4)
    return Corpus(root)


@pytest.fixture(scope="module")
def voiced(corpus) -> np.ndarray:
    rows = [corpus.covarep(pid) for pid in corpus.ids()]
    matrix = np.concatenate(rows)  # (n, 74)
    return matrix[matrix[:, formats.COVAREP_COLUMNS.index("VUV")] == 1]


@pytest.mark.parametrize("column", list(VOICED_RANGES))
def test_covarep_voiced_values_lie_in_the_real_range(voiced, column):
    low, high = VOICED_RANGES[column]
    values = voiced[:, formats.COVAREP_COLUMNS.index(column)]
    assert len(values) > 1000
    assert values.min() >= low and values.max() <= high, (values.min(), values.max())


def test_f0_sits_on_a_half_hertz_grid(voiced):
    f0 = voiced[:, 0].astype(np.float64) * 2.0
    np.testing.assert_array_equal(f0, np.round(f0))


def test_tracker_confidence_on_tracked_frames(corpus):
    confidence = np.concatenate(
        [t.confidence[t.success] for t in (corpus.clnf(p, "pose") for p in corpus.ids())]
    )
    assert confidence.min() >= 0.94 and confidence.max() <= 0.997
    assert (confidence > 0.99).mean() > 0.5


def test_untracked_frames_look_like_openface_writes_them(corpus):
    seen_failure = False
    for pid in corpus.ids():
        gaze, marks = corpus.clnf(pid, "gaze"), corpus.clnf(pid, "landmarks")
        failed = np.flatnonzero(~gaze.success)
        seen_failure |= failed.size > 0
        np.testing.assert_array_equal(gaze.values[failed], np.tile([0, 0, -1], (len(failed), 4)))
        after_a_face = failed[failed > np.argmax(marks.success)]
        np.testing.assert_array_equal(marks.values[after_a_face], marks.values[after_a_face - 1])
    assert seen_failure


def test_au_intensities_are_mostly_exactly_zero_and_start_around_half(corpus):
    intensities = []
    for pid in corpus.ids():
        table = corpus.clnf(pid, "aus")
        columns = [j for j, c in enumerate(table.columns) if c.endswith("_r")]
        intensities.append(table.values[np.ix_(table.success, columns)])
    values = np.concatenate(intensities)  # (n, 14) on tracked frames
    assert (values == 0).mean() > 0.5  # 64 % in one real session
    assert 0.4 <= values[values > 0].min() <= 0.6
    assert (values[values > 0] < 0.5).mean() < 0.01  # not the synthetic (0, 0.5) band


def _significant_digits(cell: str) -> int:
    mantissa = cell.strip().lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


@pytest.mark.parametrize("kind", list(formats.CLNF_FILES))
def test_clnf_numbers_have_six_significant_digits(corpus, kind):
    pid = corpus.ids()[0]
    text = corpus.source(pid).read_bytes(kind).decode()
    cells = [c for line in text.splitlines()[1:400] for c in line.split(", ")[2:]]
    digits = np.array([_significant_digits(c) for c in cells])
    assert digits.max() == 6
    fractional = np.array(["." in c for c in cells])
    if kind != "aus":  # AU cells are mostly 0 and the presence flags 0/1
        assert (digits[fractional] == 6).mean() > 0.5


def test_transcripts_start_20_to_40_seconds_in(corpus):
    starts = [corpus.transcript(pid)["start_time"].min() for pid in corpus.ids()]
    assert 20.0 <= min(starts) and max(starts) <= 40.0, starts
    assert max(starts) - min(starts) > 2.0  # drawn per session, not one fixed offset


def test_landmarks_span_a_frame_larger_than_640_by_480(corpus):
    marks = np.concatenate([corpus.clnf(p, "landmarks").values for p in corpus.ids()])
    x, y = marks[:, :68], marks[:, 68:]
    assert x.max() > 640 or y.max() > 480


def test_transcript_times_have_no_trailing_zeros(corpus):
    for pid in corpus.ids():
        source = corpus.source(pid)
        text = source.read_bytes("transcript").decode()
        times = [f for line in text.splitlines()[1:] for f in line.split("\t")[:2]]
        assert not [t for t in times if re.fullmatch(r"\d+\.\d*0", t)], pid


def test_every_value_passes_the_readers_validity_check(corpus):
    from core.data import validity

    for pid in corpus.ids():
        covarep = corpus.covarep(pid)
        assert not validity.bad_rows(covarep, formats.COVAREP_COLUMNS).any()
        for kind in ("aus", "pose", "gaze", "landmarks"):
            table = corpus.clnf(pid, kind)
            assert not validity.bad_rows(table.values, table.columns).any(), kind


def test_the_help_seeking_follow_ups_leak_the_label(planted_corpus):
    # Everyone is asked about a diagnosis; only a "yes" (mostly from depressed
    # participants) brings the follow-ups about therapy and seeking help.
    corpus = Corpus(planted_corpus)
    asked, followed = {0: [], 1: []}, {0: [], 1: []}
    for pid in corpus.ids(labelled=True):
        lines = corpus.transcript(pid)
        ellie = " ".join(lines.loc[lines["speaker"] == formats.INTERVIEWER, "value"])
        label = corpus.participants[pid].phq8_binary
        asked[label].append("diagnosed with depression" in ellie)
        followed[label].append("seek help" in ellie or "therapy" in ellie)
    assert np.mean(asked[0]) > 0.8 and np.mean(asked[1]) > 0.8, asked
    assert np.mean(followed[1]) > np.mean(followed[0]) + 0.4, followed
    some = corpus.ids()[0]
    text = corpus.source(some).read_bytes("transcript").decode()
    ellie = [line.split("\t")[3] for line in text.splitlines()[1:] if "\tEllie\t" in line]
    assert all(re.fullmatch(r"\S+ \(.+\)", line) for line in ellie)  # "code (text)"
