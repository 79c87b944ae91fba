"""The synthetic files' values stay where real DAIC-WOZ files put them, column by column.

The target ranges are those of real sessions (``docs/data-formats.md``); a column that
drifts out of them fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

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
    write_corpus(root, participants=8, minutes=0.5, seed=4)
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


def test_the_help_seeking_follow_ups_leak_the_label(tmp_path: Path):
    write_corpus(tmp_path / "c", participants=40, minutes=1.0, seed=5)
    corpus = Corpus(tmp_path / "c")
    asked = {0: [], 1: []}
    for pid in corpus.ids(labelled=True):
        lines = corpus.transcript(pid)
        ellie = " ".join(lines.loc[lines["speaker"] == formats.INTERVIEWER, "value"])
        label = corpus.participants[pid].phq8_binary
        asked[label].append("seek help" in ellie or "diagnosed with depression" in ellie)
    assert np.mean(asked[1]) > np.mean(asked[0]) + 0.2, asked
    some = corpus.ids()[0]
    text = corpus.source(some).read_bytes("transcript").decode()
    ellie = [line.split("\t")[3] for line in text.splitlines()[1:] if "\tEllie\t" in line]
    assert all(re.fullmatch(r"\S+ \(.+\)", line) for line in ellie)  # "code (text)"
