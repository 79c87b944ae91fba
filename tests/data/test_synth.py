"""The synthetic corpus: exact DAIC-WOZ formats, determinism, planted but noisy signal.

Files are read back with plain Python, numpy and pandas, not with the project's readers, so
these tests pin the layout itself.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import formats
from core.data.synth import NEGATIVE_WORDS, POSITIVE_WORDS, main_synth, write_corpus
from core.data.synth.people import _split_counts

SMALL = {"participants": 12, "minutes": 0.3}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("small") / "corpus"
    return root, write_corpus(root, **SMALL)


@pytest.fixture(scope="module")
def signal(tmp_path_factory) -> tuple[Path, dict]:
    """Enough participants to see the class difference on average."""
    root = tmp_path_factory.mktemp("signal") / "corpus"
    return root, write_corpus(root, participants=36, minutes=0.4)


def all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def read_labels(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / name, newline="") as handle:
        return list(csv.DictReader(handle))


def session(root: Path, pid: int, kind: str) -> Path:
    return root / formats.session_folder(pid) / formats.session_file(pid, kind)


def label_of(root: Path) -> dict[int, int]:
    rows = read_labels(root, formats.TRAIN_LABELS) + read_labels(root, formats.DEV_LABELS)
    out = {int(r["Participant_ID"]): int(r["PHQ8_Binary"]) for r in rows}
    for r in read_labels(root, formats.TEST_LABELS_FULL):
        out[int(r["Participant_ID"])] = int(r["PHQ_Binary"])
    return out


def numbers(path: Path, header: bool = False) -> np.ndarray:
    """A numeric file as a matrix (pandas' C parser; ``", "`` separators allowed)."""
    table = pd.read_csv(path, header=0 if header else None, skipinitialspace=True)
    return table.to_numpy(dtype=float)


def clnf(root: Path, pid: int, kind: str) -> tuple[list[str], np.ndarray]:
    path = session(root, pid, kind)
    header = path.read_text().split("\n", 1)[0].split(", ")
    return header, numbers(path, header=True)


# --- Determinism and layout ------------------------------------------------------------


def test_same_arguments_give_identical_bytes(small, tmp_path):
    root, _ = small
    again = write_corpus(tmp_path / "again", **SMALL)
    assert all_files(root) == all_files(tmp_path / "again")
    assert again["splits"] == small[1]["splits"]
    other = tmp_path / "other"
    write_corpus(other, **SMALL, seed=1)
    name = str(Path(formats.session_folder(900)) / formats.session_file(900, "covarep"))
    assert all_files(other)[name] != all_files(root)[name]


def test_a_transcripts_only_corpus_has_the_same_words_and_labels(small, tmp_path):
    root, _ = small
    write_corpus(tmp_path / "words", **SMALL, transcripts_only=True)
    words = all_files(tmp_path / "words")
    everything = all_files(root)
    assert words and all(everything[name] == data for name, data in words.items())
    kept = {name for name in everything if "/" not in name or "TRANSCRIPT" in name}
    assert set(words) == kept


def test_layout_and_ids(small):
    root, summary = small
    ids = list(range(900, 912))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [f"{i}_P" for i in ids]
    for pid in ids:
        names = sorted(p.name for p in (root / f"{pid}_P").iterdir())
        assert names == sorted(formats.session_file(pid, kind) for kind in formats.SESSION_FILES)
    assert sorted(sum(summary["splits"].values(), [])) == ids
    assert summary["bytes"] == sum(len(b) for b in all_files(root).values())


def test_label_files(small):
    root, summary = small
    for name, columns in [
        (formats.TRAIN_LABELS, formats.TRAIN_DEV_LABEL_COLUMNS),
        (formats.DEV_LABELS, formats.TRAIN_DEV_LABEL_COLUMNS),
        (formats.TEST_LABELS_FULL, formats.FULL_TEST_COLUMNS),
    ]:
        assert (root / name).read_text().splitlines()[0] == ",".join(columns)
    assert (root / formats.TEST_IDS).read_text().splitlines()[0] == "participant_ID,Gender"
    for split, name in [("train", formats.TRAIN_LABELS), ("dev", formats.DEV_LABELS)]:
        rows = read_labels(root, name)
        assert [int(r["Participant_ID"]) for r in rows] == summary["splits"][split]
        for r in rows:
            items = [int(r[c]) for c in formats.PHQ8_ITEMS]
            assert all(0 <= i <= 3 for i in items)
            assert sum(items) == int(r["PHQ8_Score"])
            assert int(r["PHQ8_Binary"]) == (int(r["PHQ8_Score"]) >= formats.PHQ8_CUTOFF)
    full = read_labels(root, formats.TEST_LABELS_FULL)
    ids = read_labels(root, formats.TEST_IDS)
    assert [r["Participant_ID"] for r in full] == [r["participant_ID"] for r in ids]
    assert [r["Gender"] for r in full] == [r["Gender"] for r in ids]
    for r in full:
        assert int(r["PHQ_Binary"]) == (int(r["PHQ_Score"]) >= formats.PHQ8_CUTOFF)
    genders = {r["Gender"] for r in full + read_labels(root, formats.TRAIN_LABELS)}
    assert genders | {r["Gender"] for r in read_labels(root, formats.DEV_LABELS)} == {"0", "1"}


def test_splits_follow_the_real_proportions(small):
    assert _split_counts(189) == {"train": (107, 30), "dev": (35, 12), "test": (47, 14)}
    assert _split_counts(60) == {"train": (34, 10), "dev": (11, 4), "test": (15, 4)}
    for n in (6, 7, 12, 25):
        counts = _split_counts(n)
        assert sum(size for size, _ in counts.values()) == n
        assert all(1 <= dep <= size - 1 for size, dep in counts.values())
    root, summary = small
    labels = label_of(root)
    for split, ids in summary["splits"].items():
        depressed = sum(labels[i] for i in ids)
        assert depressed == summary["depressed"][split]
        assert 1 <= depressed < len(ids)
    assert 0.2 <= sum(labels.values()) / len(labels) <= 0.4


# --- Per-session files -----------------------------------------------------------------


def test_transcripts(small):
    root, _ = small
    coded = re.compile(r"^[a-z_0-9]+ \([^()]+\)$")
    markers = set()
    for pid in range(900, 912):
        lines = session(root, pid, "transcript").read_text().splitlines()
        assert lines[0] == "start_time\tstop_time\tspeaker\tvalue"
        rows = [line.split("\t") for line in lines[1:]]
        assert all(len(r) == 4 for r in rows)
        speakers = [r[2] for r in rows]
        assert set(speakers) == {"Ellie", "Participant"} and speakers[0] == "Ellie"
        assert all(coded.match(r[3]) for r in rows if r[2] == "Ellie")
        starts, stops = [], []
        for start, stop, _, _ in rows:
            # to the millisecond, without trailing zeros, as real transcripts
            time = r"\d+(\.\d{0,2}[1-9])?"
            assert re.fullmatch(time, start) and re.fullmatch(time, stop)
            starts.append(float(start))
            stops.append(float(stop))
        assert all(a < b for a, b in zip(starts, stops, strict=True))
        assert all(b <= a for a, b in zip(starts[1:], stops[:-1], strict=True))  # no overlap
        seconds = len(session(root, pid, "covarep").read_text().splitlines()) / 100
        assert stops[-1] <= seconds
        text = " ".join(r[3] for r in rows if r[2] == "Participant")
        markers |= set(re.findall(r"<\w+>|\[\w+\]|\bxxx\b|scrubbed_entry", text))
    assert "scrubbed_entry" in markers and len(markers) >= 3


def test_covarep_and_formant(small):
    root, _ = small
    glottal = [formats.COVAREP_COLUMNS.index(c) for c in formats.COVAREP_GLOTTAL]
    for pid in (900, 905, 911):
        text = session(root, pid, "covarep").read_text()
        lines = text.splitlines()
        assert all(len(line.split(",")) == 74 for line in lines)
        float(lines[0].split(",")[0])  # a number, not a header
        x = np.array([[float(v) for v in line.split(",")] for line in lines])
        # an interview of 0.3 min +- 10 %, after a lead-in scaled down from 20-40 s
        interview = (0.9 * 18, 1.1 * 18)
        assert 100 * interview[0] * (1 + 20 / 45) <= len(x) <= 100 * interview[1] * (1 + 40 / 45)
        assert set(np.unique(x[:, 1])) == {0.0, 1.0}
        unvoiced = x[:, 1] == 0
        assert np.all(x[np.ix_(unvoiced, glottal)] == 0)
        assert np.all(x[~unvoiced, 0] > 50)  # F0 in Hz where voiced
        assert 1 <= np.all(x == 0, axis=1).sum() < 0.1 * len(x)  # short scrubbed stretches
        formant = numbers(session(root, pid, "formant"))
        assert formant.shape == (len(x), 5)


def test_clnf_files(small):
    root, _ = small
    for pid in (900, 905, 911):
        frames = None
        for kind, (_, columns) in formats.CLNF_FILES.items():
            text = session(root, pid, kind).read_text()
            lines = text.splitlines()
            assert lines[0] == ", ".join(formats.CLNF_LEAD + columns)
            assert all(line.count(",") == line.count(", ") for line in lines)
            assert all(len(line.split(", ")) == 4 + len(columns) for line in lines)
            _, x = clnf(root, pid, kind)
            frames = len(x) if frames is None else frames
            assert len(x) == frames  # the five files cover the same frames
            np.testing.assert_array_equal(x[:, 0], np.arange(1, len(x) + 1))
            np.testing.assert_allclose(x[:, 1], np.arange(len(x)) / 30, atol=6e-4)
            lost = x[:, 3] == 0
            assert set(np.unique(x[:, 3])) == {0.0, 1.0} and lost.sum() < 0.2 * len(x)
            assert np.all(x[lost, 2] < 0.5)
            if kind in ("aus", "pose"):
                assert np.all(x[lost, 4:] == 0)
            elif kind == "gaze":  # OpenFace's "no face" gaze
                assert np.all(x[lost, 4:] == np.tile([0, 0, -1], 4))
            else:  # landmarks repeat the last tracked frame's (zeros before the first)
                rows = np.flatnonzero(lost)
                previous = np.where(rows > 0, rows - 1, 0)
                repeated = np.all(x[rows, 4:] == x[previous, 4:], axis=1)
                assert np.all(repeated | np.all(x[rows, 4:] == 0, axis=1))
            assert np.all(x[~lost, 2] > 0.5)
            if kind == "aus":
                assert set(np.unique(x[:, 18:])) <= {0.0, 1.0}  # the *_c columns
                assert np.all((x[:, 4:18] >= 0) & (x[:, 4:18] <= 5))
            if kind == "landmarks":
                xs, ys = x[~lost, 4:72], x[~lost, 72:140]
                # a video larger than 640 x 480, as the real ones
                assert 0 < xs.min() and xs.max() < 1280 and 0 < ys.min() and ys.max() < 960
                assert 100 < np.median(xs.max(1) - xs.min(1)) < 400  # a face, in pixels
            if kind == "gaze":
                norms = np.linalg.norm(x[~lost, 4:7], axis=1)
                np.testing.assert_allclose(norms, 1, atol=1e-3)


def test_archives_hold_the_same_files_at_their_root(small, tmp_path):
    root, _ = small
    write_corpus(tmp_path / "zips", **SMALL, archives=True)
    zips = sorted((tmp_path / "zips").glob("*_P.zip"))
    assert [z.name for z in zips] == [f"{i}_P.zip" for i in range(900, 912)]
    assert not [p for p in (tmp_path / "zips").iterdir() if p.is_dir()]
    pid = 903
    with zipfile.ZipFile(zips[3]) as archive:
        assert sorted(archive.namelist()) == sorted(
            formats.session_file(pid, k) for k in formats.SESSION_FILES
        )
        for info in archive.infolist():  # fixed metadata: same arguments, same archive
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert archive.read(info) == (root / f"{pid}_P" / info.filename).read_bytes()
    for name in (formats.TRAIN_LABELS, formats.TEST_IDS):
        assert (tmp_path / "zips" / name).read_bytes() == (root / name).read_bytes()


# --- Planted signal --------------------------------------------------------------------


def participant_features(root: Path, pid: int) -> dict[str, float]:
    cov = numbers(session(root, pid, "covarep"))
    voiced = cov[:, 1] == 1
    f0 = cov[voiced, 0]
    _, aus = clnf(root, pid, "aus")
    au = {name: aus[aus[:, 3] == 1, 4 + j] for j, name in enumerate(formats.AU_COLUMNS)}
    _, pose = clnf(root, pid, "pose")
    rows = [line.split("\t") for line in session(root, pid, "transcript").read_text().splitlines()]
    pauses, said = [], []
    for previous, row in zip(rows[1:], rows[2:], strict=False):
        if previous[2] == "Ellie" and row[2] == "Participant":
            pauses.append(float(row[0]) - float(previous[1]))
        if row[2] == "Participant":
            said += row[3].split()
    return {
        "f0_relative_sd": f0.std() / f0.mean(),
        "voiced_share": voiced.mean(),
        "pause": float(np.mean(pauses)),
        "AU12_r": au["AU12_r"].mean(),
        "AU12_c": au["AU12_c"].mean(),
        "AU04_r": au["AU04_r"].mean(),
        "Rx": pose[pose[:, 3] == 1, 7].mean(),
        "low_mood_words": np.mean([w in NEGATIVE_WORDS for w in said]),
        "positive_words": np.mean([w in POSITIVE_WORDS for w in said]),
    }


# feature: +1 when depressed participants should have more of it, -1 less.
DIRECTIONS = {
    "f0_relative_sd": -1,
    "voiced_share": -1,
    "pause": +1,
    "AU12_r": -1,
    "AU12_c": -1,
    "AU04_r": +1,
    "Rx": +1,
    "low_mood_words": +1,
    "positive_words": -1,
}


def test_planted_signal_is_there_on_average_but_overlaps(signal):
    root, _ = signal
    labels = label_of(root)
    table = {pid: participant_features(root, pid) for pid in labels}
    y = np.array([labels[pid] for pid in table])
    for feature, direction in DIRECTIONS.items():
        x = direction * np.array([table[pid][feature] for pid in table])
        assert x[y == 1].mean() > x[y == 0].mean(), feature
        # not separable: some depressed participant scores below some non-depressed one
        assert x[y == 1].min() < x[y == 0].max(), feature


def test_planted_words_are_not_stop_words():
    stop_words = pytest.importorskip("sklearn.feature_extraction.text").ENGLISH_STOP_WORDS
    assert not set(NEGATIVE_WORDS + POSITIVE_WORDS) & stop_words


def test_interviewer_follow_ups_leak_the_label(signal):
    root, _ = signal
    labels = label_of(root)
    sympathetic = re.compile(r"^(sounds_hard|sorry|feel_down|therapist) ")
    counts = {0: [], 1: []}
    for pid, label in labels.items():
        rows = session(root, pid, "transcript").read_text().splitlines()[1:]
        ellie = [r.split("\t")[3] for r in rows if r.split("\t")[2] == "Ellie"]
        counts[label].append(sum(bool(sympathetic.match(v)) for v in ellie))
    assert np.mean(counts[1]) > np.mean(counts[0])


def test_the_interviewer_inclusive_text_model_beats_the_participant_only_one(planted_corpus):
    # The real corpus's shortcut, in its direction: Ellie's follow-ups reveal the label,
    # so a model that reads her lines scores better than one that reads only the
    # participant's (out-of-fold AUROC over every labelled participant of the sample).
    from sklearn.metrics import roc_auc_score

    from core.data.corpus import Corpus
    from core.data.text import documents
    from core.models.text import make_text_pipeline, out_of_fold_proba

    corpus = Corpus(planted_corpus)
    ids = corpus.ids(labelled=True)
    y = corpus.labels(ids)
    auroc = {}
    for speakers in ("participant", "both"):
        docs = documents(corpus, ids, speakers)
        scores = [
            roc_auc_score(y, out_of_fold_proba(make_text_pipeline(seed=s), docs, y, seed=s))
            for s in (0, 1)
        ]
        auroc[speakers] = np.mean(scores)
    assert auroc["both"] > auroc["participant"] + 0.03, auroc
    assert auroc["participant"] > 0.6, auroc  # the participant's own words still carry signal


# --- Errors and command line -----------------------------------------------------------


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 6"):
        write_corpus(tmp_path / "a", participants=5)
    with pytest.raises(ValueError, match="seconds"):
        write_corpus(tmp_path / "b", minutes=0.1)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        write_corpus(tmp_path / "c", participants=6, minutes=0.2)
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["keep.txt"]


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli"
    args = [str(out), "--participants", "6", "--minutes", "0.2", "--seed", "3"]
    assert main_synth(args) == 0
    assert (out / formats.TEST_IDS).exists() and len(list(out.glob("*_P"))) == 6
    assert "wrote" in capsys.readouterr().out
    assert main_synth(args) == 2  # OUT is no longer empty
    assert "not empty" in capsys.readouterr().err
    assert (
        main_synth(
            [str(tmp_path / "zips"), "--participants", "6", "--minutes", "0.2", "--archives"]
        )
        == 0
    )
    assert len(list((tmp_path / "zips").glob("*_P.zip"))) == 6
