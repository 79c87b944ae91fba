from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data import features, formats, frames, gate, sources, store
from core.data.corpus import Corpus
from core.data.errors import DataError
from core.data.features import (
    FeatureSettings,
    Normaliser,
    WindowSettings,
    cut_windows,
    extract_session,
    load_windows,
)
from core.data.frames import bin_means
from core.data.gate import participant_turns, session_turns

# --- A tiny hand-made corpus ---------------------------------------------------------------


def write_labels(root: Path, splits: dict[str, dict[int, int]]) -> None:
    def rows(split: str, columns: tuple[str, ...]) -> str:
        lines = [",".join(columns)]
        for pid, label in splits.get(split, {}).items():
            score = 12 if label else 3
            lines.append(",".join(map(str, [pid, label, score, 1, *([0] * (len(columns) - 4))])))
        return "\n".join(lines) + "\n"

    (root / formats.TRAIN_LABELS).write_text(rows("train", formats.TRAIN_DEV_LABEL_COLUMNS))
    (root / formats.DEV_LABELS).write_text(rows("dev", formats.TRAIN_DEV_LABEL_COLUMNS))
    (root / formats.TEST_LABELS_FULL).write_text(rows("test", formats.FULL_TEST_COLUMNS))


def covarep_rows(seconds: float, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """(n, 74) COVAREP at 100 Hz: voiced every other frame, F0 = 0 when unvoiced."""
    n = int(seconds * 100)
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0.5, 0.1, (n, 74)), 4)
    vuv = (np.arange(n) % 2 == 0).astype(float)
    x[:, 0] = np.where(vuv == 1, f0, 0.0)
    x[:, 1] = vuv
    return x


def write_session(
    root: Path,
    pid: int,
    covarep: np.ndarray | None = None,
    turns: list[tuple[float, float, str, str]] | None = None,
    aus: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Path:
    folder = root / f"{pid}_P"
    folder.mkdir(parents=True, exist_ok=True)
    if covarep is not None:
        body = "\n".join(",".join(f"{v:g}" for v in row) for row in covarep) + "\n"
        (folder / formats.session_file(pid, "covarep")).write_text(body)
    if turns is not None:
        lines = ["start_time\tstop_time\tspeaker\tvalue"]
        lines += [f"{a}\t{b}\t{who}\t{text}" for a, b, who, text in turns]
        (folder / formats.session_file(pid, "transcript")).write_text("\n".join(lines) + "\n")
    if aus is not None:
        timestamp, success, values = aus
        header = ", ".join(formats.CLNF_LEAD + formats.AU_COLUMNS)
        lines = [header]
        for i, (t, ok, row) in enumerate(zip(timestamp, success, values, strict=True)):
            lead = [i + 1, round(float(t), 3), 0.9 if ok else 0.1, int(ok)]
            lines.append(", ".join(f"{v:g}" for v in [*lead, *row]))
        (folder / formats.session_file(pid, "aus")).write_text("\n".join(lines) + "\n")
    return folder


TURNS = [
    (0.0, 1.0, "Ellie", "hi how are you"),
    (1.0, 3.0, "Participant", "fine thanks"),
    (3.0, 4.0, "Ellie", "tell me more"),
    (4.0, 6.0, "Participant", "okay"),
]


def audio_corpus(root: Path, seconds: float = 8.0) -> Corpus:
    """Train 900-903, dev 904-905, test 906-907; F0 differs per participant."""
    splits = {
        "train": {900: 0, 901: 1, 902: 0, 903: 1},
        "dev": {904: 0, 905: 1},
        "test": {906: 0, 907: 1},
    }
    write_labels(root, splits)
    for i, pid in enumerate(sorted(p for s in splits.values() for p in s)):
        write_session(root, pid, covarep_rows(seconds, 100.0 + 10 * i, seed=i), TURNS)
    return Corpus(root)


ALL = FeatureSettings(("covarep",), gate="all")


# --- Settings --------------------------------------------------------------------------------


def test_settings_defaults_and_round_trip():
    audio, face = FeatureSettings(("covarep",)), FeatureSettings(("gaze", "aus"))
    assert audio.rate_hz == 10.0 and face.rate_hz == 5.0
    assert face.feature_sets == ("aus", "gaze")  # canonical order
    assert (audio.family, face.family) == ("covarep", "clnf")
    assert FeatureSettings.from_dict(face.as_dict()) == face
    assert WindowSettings().as_dict() == {"window_s": 8.0, "overlap": 0.5}
    assert audio.file_kinds() == ("covarep", "transcript")
    assert ALL.file_kinds() == ("covarep",)
    with pytest.raises(ValueError, match="unknown"):
        FeatureSettings(("video",))
    with pytest.raises(ValueError, match="unknown"):
        FeatureSettings(("hog",))
    with pytest.raises(ValueError, match="one family"):
        FeatureSettings(("covarep", "aus"))
    with pytest.raises(ValueError, match="one family"):
        FeatureSettings(())
    with pytest.raises(ValueError, match="add covarep"):
        FeatureSettings(("formant",))
    with pytest.raises(ValueError, match="columns"):
        FeatureSettings(("covarep",), columns=("AU01_r",))
    with pytest.raises(ValueError, match="overlap"):
        WindowSettings(overlap=1.0)


# --- Resampling ------------------------------------------------------------------------------


def test_bin_means_on_a_hand_made_signal():
    times = np.arange(100) / 100.0  # one second at 100 Hz
    values = np.stack([times, np.ones(100)], axis=1).astype(np.float32)  # (100, 2)
    values[13, 1] = np.nan  # ignored, not counted as 0
    centres, means = bin_means(times, values, 10.0)
    np.testing.assert_allclose(centres, np.arange(10) / 10 + 0.05)
    np.testing.assert_allclose(means[:, 0], np.arange(10) / 10 + 0.045, atol=1e-6)
    np.testing.assert_array_equal(means[:, 1], np.ones(10))


def test_bin_sums_agree_with_reduceat_to_float64_rounding():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5000, 7)) * 10.0 ** rng.integers(-6, 6, size=(5000, 7))
    values = values.astype(np.float32)  # (5000, 7) magnitudes 1e-6..1e6: order matters
    values[rng.random(values.shape) < 0.01] = np.inf  # a sum may overflow to inf
    starts = np.flatnonzero(np.diff(np.sort(rng.integers(0, 600, 5000)), prepend=-1))
    expected = np.add.reduceat(values, starts, axis=0, dtype=np.float64)  # (m, 7)
    sums = frames._bin_sums(values, starts)
    np.testing.assert_array_equal(np.isinf(sums), np.isinf(expected))
    np.testing.assert_allclose(sums, expected, rtol=1e-12)  # only the order of adding differs


def test_bin_means_drops_empty_bins_and_keeps_all_nan_bins_as_nan():
    times = np.array([0.01, 0.02, 0.55, 0.56])  # bins 0 and 5 at 10 Hz
    values = np.array([[1, np.nan], [3, np.nan], [5, 2], [7, 4]], np.float32)
    centres, means = bin_means(times, values, 10.0)
    np.testing.assert_allclose(centres, [0.05, 0.55])
    np.testing.assert_allclose(means, [[2, np.nan], [6, 3]])


# --- Audio -------------------------------------------------------------------------------------


def test_unvoiced_frames_do_not_pull_f0_towards_zero(tmp_path):
    corpus = audio_corpus(tmp_path)
    session = extract_session(corpus, 900, ALL)
    f0 = session.values[:, session.feature_names.index("F0")]
    vuv = session.values[:, session.feature_names.index("VUV")]
    np.testing.assert_allclose(f0, 100.0)  # not 50: unvoiced frames are left out
    np.testing.assert_allclose(vuv, 0.5)  # the voiced fraction stays a feature
    assert len(session) == 80 and session.values.dtype == np.float32


def test_bins_without_voiced_frames_become_zero_after_normalisation(tmp_path):
    x = covarep_rows(2.0)
    x[:10, 1] = 0  # first bin all unvoiced
    x[:10, 0] = 0
    write_labels(tmp_path, {"train": {900: 0}})
    write_session(tmp_path, 900, x, TURNS)
    session = extract_session(Corpus(tmp_path), 900, ALL)
    f0 = session.feature_names.index("F0")
    assert np.isnan(session.values[0, f0]) and not np.isnan(session.values[1:, f0]).any()
    normalised = Normaliser().fit([session.values]).transform(session.values)
    assert normalised[0, f0] == 0.0 and not np.isnan(normalised).any()


def test_scrubbed_audio_is_dropped(tmp_path):
    x = covarep_rows(2.0)
    x[30:60] = 0.0  # bins 3, 4, 5 scrubbed entirely
    write_labels(tmp_path, {"train": {900: 0}})
    write_session(tmp_path, 900, x, TURNS)
    session = extract_session(Corpus(tmp_path), 900, ALL)
    np.testing.assert_allclose(session.times, np.delete(np.arange(20) / 10 + 0.05, [3, 4, 5]))


# --- Gate --------------------------------------------------------------------------------------


def test_gate_keeps_only_bins_inside_participant_turns(tmp_path):
    corpus = audio_corpus(tmp_path)
    session = extract_session(corpus, 900, FeatureSettings(("covarep",)))
    turns = participant_turns(corpus.transcript(900))
    assert len(session) > 0
    assert all(any(a <= t <= b for a, b in turns) for t in session.times)
    # every bin inside a turn is kept: 1.0-3.0 and 4.0-6.0 at 10 Hz
    assert len(session) == 40
    windows, _, _ = load_windows(
        corpus, FeatureSettings(("covarep",)), WindowSettings(2.0), cache=None
    )
    for split in windows.values():
        steps = split.times[~np.isnan(split.times)]
        assert all(any(a <= t <= b for a, b in turns) for t in steps)


def test_gate_falls_back_to_all_without_a_transcript(tmp_path):
    write_labels(tmp_path, {"train": {900: 0}})
    write_session(tmp_path, 900, covarep_rows(3.0))
    session = extract_session(Corpus(tmp_path), 900, FeatureSettings(("covarep",)))
    assert len(session) == 30
    assert any("fell back to 'all'" in note for note in session.notes)


def test_quick_turns_equal_the_full_reader(tmp_path):
    corpus = audio_corpus(tmp_path)
    np.testing.assert_array_equal(
        session_turns(corpus, 900), participant_turns(corpus.transcript(900))
    )


def test_known_interruption_is_left_out(tmp_path, monkeypatch):
    corpus = audio_corpus(tmp_path)
    monkeypatch.setattr(gate.known_defects, "interruption", lambda pid: (2.0, 5.0))
    session = extract_session(corpus, 900, ALL)
    assert not ((session.times >= 2.0) & (session.times <= 5.0)).any()


# --- Face ----------------------------------------------------------------------------------------


def test_frames_without_a_face_are_dropped(tmp_path):
    timestamp = np.arange(60) / 30.0  # 2 s at 30 fps
    success = np.ones(60, bool)
    success[:6] = False  # the whole first 0.2 s bin at 5 Hz
    success[10:12] = False
    values = np.where(success[:, None], 1.0, 9.0) * np.ones((60, len(formats.AU_COLUMNS)))
    write_labels(tmp_path, {"train": {900: 0}})
    write_session(tmp_path, 900, turns=TURNS, aus=(timestamp, success, values))
    settings = FeatureSettings(("aus",), gate="all")
    session = extract_session(Corpus(tmp_path), 900, settings)
    np.testing.assert_allclose(session.values, 1.0)  # no 9 from a failed frame
    np.testing.assert_allclose(session.times, np.arange(1, 10) / 5 + 0.1)


def test_landmarks_are_translation_and_scale_invariant():
    rng = np.random.default_rng(0)
    points = rng.normal(0, 30, (5, 68, 2)) + 300  # (n, 68, 2)
    block = points.transpose(0, 2, 1).reshape(5, 136).astype(np.float32)
    moved = (2.5 * points + [40, -70]).transpose(0, 2, 1).reshape(5, 136).astype(np.float32)
    a, b = frames._normalise_landmarks(block), frames._normalise_landmarks(moved)
    np.testing.assert_allclose(a, b, atol=1e-4)
    xy = a.reshape(5, 2, 68)
    np.testing.assert_allclose(xy.mean(axis=2), 0, atol=1e-5)  # centred


# --- Windows -------------------------------------------------------------------------------------


def test_cut_windows_length_hop_and_padding():
    times = np.arange(10, dtype=np.float32)
    values = np.arange(10, dtype=np.float32)[:, None]
    windows, wtimes = cut_windows(times, values, 4, 2)
    assert windows.shape == (4, 4, 1)
    np.testing.assert_array_equal(wtimes[:, 0], [0, 2, 4, 6])
    padded, ptimes = cut_windows(times[:3], values[:3], 4, 2)  # 3 >= 4 / 2: one padded
    assert padded.shape == (1, 4, 1) and np.isnan(padded[0, 3, 0]) and np.isnan(ptimes[0, 3])
    none, _ = cut_windows(times[:1], values[:1], 4, 2)
    assert none.shape == (0, 4, 1)


def test_a_split_is_normalised_per_bin_and_its_padding_reads_as_the_mean():
    rng = np.random.default_rng(0)
    long = frames.SessionFrames(
        np.arange(6, dtype=np.float32), rng.normal(5, 2, (6, 2)).astype(np.float32), ["a", "b"]
    )
    long.values[1, 0] = np.nan  # a bin without a valid value
    short = frames.SessionFrames(
        np.arange(3, dtype=np.float32), rng.normal(5, 2, (3, 2)).astype(np.float32), ["a", "b"]
    )
    normaliser = Normaliser().fit([long.values, short.values])
    sessions = [(1, 0, long), (2, 1, short)]
    kept = {pid: f.values.copy() for pid, _, f in sessions}

    split, short_notes = features._window_split(sessions, normaliser, 4, 2, ["a", "b"])

    assert short_notes == {}
    assert split.x.shape == (3, 4, 2) and not np.isnan(split.x).any()
    expected = normaliser.transform(np.stack([long.values[0:4], long.values[2:6]]))
    np.testing.assert_array_equal(split.x[:2], expected)  # the same as normalising windows
    assert split.x[0, 1, 0] == 0.0  # the missing value reads as the mean
    np.testing.assert_array_equal(split.x[2, :3], normaliser.transform(short.values))
    np.testing.assert_array_equal(split.x[2, 3], [0.0, 0.0])  # the padded step
    assert np.isnan(split.times[2, 3])
    for pid, _, session in sessions:  # the frames themselves are left as read
        np.testing.assert_array_equal(session.values, kept[pid])


def test_windows_keep_ids_labels_and_splits_apart(tmp_path):
    corpus = audio_corpus(tmp_path)
    windows, normaliser, notes = load_windows(corpus, ALL, WindowSettings(2.0, 0.5), cache=None)
    seen: dict[int, str] = {}
    for split, ws in windows.items():
        assert ws.x.shape == (len(ws), 20, 74) and ws.x.dtype == np.float32
        assert ws.times.shape == (len(ws), 20) and not np.isnan(ws.x).any()
        assert set(ws.participants()) == set(corpus.ids(split, "audio", labelled=True))
        for pid, label in zip(ws.participant_ids, ws.y, strict=True):
            assert label == corpus.participants[int(pid)].phq8_binary
            assert seen.setdefault(int(pid), split) == split  # never in two splits
    assert len(windows["train"]) == 4 * 7  # 80 bins, L = 20, hop = 10
    assert notes == {}


def test_normaliser_fits_training_participants_only(tmp_path):
    corpus = audio_corpus(tmp_path)
    _, normaliser, _ = load_windows(corpus, ALL, cache=None)
    train = [extract_session(corpus, pid, ALL).values for pid in corpus.ids("train")]
    stacked = np.concatenate(train).astype(np.float64)
    np.testing.assert_allclose(normaliser.mean_, np.nanmean(stacked, axis=0), rtol=1e-6)
    std = np.nanstd(stacked, axis=0)
    np.testing.assert_allclose(normaliser.scale_, np.where(std > 0, std, 1.0), rtol=1e-5)
    # Leakage: changing a dev participant's data changes nothing the normaliser learnt.
    write_session(tmp_path, 904, covarep_rows(8.0, f0=400.0, seed=99) * 3, TURNS)
    _, again, _ = load_windows(Corpus(tmp_path), ALL, cache=None)
    np.testing.assert_array_equal(again.mean_, normaliser.mean_)
    np.testing.assert_array_equal(again.scale_, normaliser.scale_)


def test_normaliser_contract_and_round_trip():
    data = [np.array([[1.0, 5.0, np.nan], [3.0, 5.0, np.nan]], np.float32)]
    fitted = Normaliser().fit(data, ["a", "b", "c"])
    np.testing.assert_array_equal(fitted.mean_, [2.0, 5.0, 0.0])
    np.testing.assert_array_equal(fitted.scale_, [1.0, 1.0, 1.0])  # std 0 / undefined -> 1
    restored = Normaliser.from_dict(fitted.to_dict())
    assert all(isinstance(v, float) for v in fitted.to_dict()["mean"])
    np.testing.assert_array_equal(restored.transform(data[0]), fitted.transform(data[0]))
    assert restored.feature_names_in_ == ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="fit"):
        Normaliser().transform(data[0])


def test_a_broken_participant_is_skipped_and_reported(tmp_path):
    corpus = audio_corpus(tmp_path)
    bad = tmp_path / "905_P" / formats.session_file(905, "covarep")
    bad.write_text("1,2,3\n")
    windows, _, notes = load_windows(Corpus(tmp_path), ALL, cache=None)
    assert 905 not in windows["dev"].participants()
    assert 904 in windows["dev"].participants()
    assert "905_COVAREP.csv" in notes[905][0] and "skipped" in notes[905][0]
    assert corpus  # the rest loaded


def test_load_windows_on_the_synthetic_corpus(tmp_path):
    from core.data.synth import write_corpus

    write_corpus(tmp_path / "c", participants=6, minutes=0.5)
    corpus = Corpus(tmp_path / "c")
    for sets in (("covarep",), ("aus", "pose", "gaze")):
        windows, normaliser, _ = load_windows(corpus, FeatureSettings(sets), cache=None)
        assert all(len(w) > 0 for w in windows.values())
        assert windows["train"].feature_names == normaliser.feature_names_in_
    assert features.__all__  # the public names are listed


# --- Reading only the gated rows ---------------------------------------------------------------


def test_gated_extraction_equals_filtering_the_whole_session(tmp_path):
    corpus = audio_corpus(tmp_path)
    gated = extract_session(corpus, 901, FeatureSettings(("covarep",)))
    whole = extract_session(corpus, 901, ALL)
    keep = gate.inside(whole.times.astype(np.float64), session_turns(corpus, 901))
    np.testing.assert_array_equal(gated.times, whole.times[keep])
    np.testing.assert_array_equal(gated.values, whole.values[keep])


def test_reading_into_a_reused_buffer_gives_the_frames_of_plain_reads(tmp_path):
    corpus = audio_corpus(tmp_path)
    longer = tmp_path / "903_P" / formats.session_file(903, "covarep")
    longer.write_bytes(longer.read_bytes() * 3)  # the next file read is shorter than this
    buffer = sources.ReadBuffer()
    for settings in (FeatureSettings(("covarep",)), ALL):
        plain = [extract_session(corpus, pid, settings) for pid in (903, 900, 901)]
        reused = []
        for pid in (903, 900, 901):  # each session's files go into the last one's buffers
            with sources.reading_into(buffer):
                reused.append(extract_session(corpus, pid, settings))
            buffer.release()
        for a, b in zip(plain, reused, strict=True):
            np.testing.assert_array_equal(a.times, b.times)
            np.testing.assert_array_equal(a.values, b.values)
            assert a.notes == b.notes


def test_a_reused_buffer_reads_a_file_that_grew_after_it_was_sized(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(bytes(range(256)) * 40)
    buffer = sources.ReadBuffer()
    assert bytes(buffer.read(path)) == path.read_bytes()

    class Small:
        st_size = 100  # as if the file had 100 bytes when sized, then grew

    monkeypatch.setattr(sources.os, "fstat", lambda fd: Small)
    buffer = sources.ReadBuffer()
    assert bytes(buffer.read(path)) == path.read_bytes()


def test_a_buffer_serves_a_file_read_again_until_released(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes(b"1,2\n" * 100)
    second.write_bytes(b"3,4\n" * 10)
    buffer = sources.ReadBuffer()
    view = buffer.read(first)
    first.write_bytes(b"edited")  # read once: the same bytes until released
    assert buffer.read(first) is view and bytes(view) == b"1,2\n" * 100
    assert bytes(buffer.read(second)) == b"3,4\n" * 10  # held side by side
    buffer.release()
    assert bytes(buffer.read(first)) == b"edited"  # read afresh, into a reused buffer


def test_a_file_without_a_final_newline_reads_the_same(tmp_path):
    corpus = audio_corpus(tmp_path)
    before = extract_session(corpus, 900, FeatureSettings(("covarep",)))
    path = tmp_path / "900_P" / formats.session_file(900, "covarep")
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    after = extract_session(Corpus(tmp_path), 900, FeatureSettings(("covarep",)))
    np.testing.assert_array_equal(before.values, after.values)


def test_a_bad_row_inside_a_turn_is_reported_with_its_true_row_number(tmp_path):
    audio_corpus(tmp_path)
    path = tmp_path / "900_P" / formats.session_file(900, "covarep")
    lines = path.read_text().splitlines()
    lines[449] = "1,2,3"  # row 450 = 4.49 s, inside the participant's 4-6 s turn
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="row 450"):
        extract_session(Corpus(tmp_path), 900, FeatureSettings(("covarep",)))


# --- A saved normaliser --------------------------------------------------------------------------


def test_a_given_normaliser_is_applied_not_refitted(tmp_path, monkeypatch):
    corpus = audio_corpus(tmp_path)
    _, fitted, _ = load_windows(corpus, ALL, cache=None)
    saved = Normaliser.from_dict(fitted.to_dict())
    read = []
    real = store.extract_session

    def spy(corpus, pid, settings):
        read.append(pid)
        return real(corpus, pid, settings)

    monkeypatch.setattr(store, "extract_session", spy)
    windows, used, _ = load_windows(corpus, ALL, splits=("dev",), cache=None, normaliser=saved)
    assert used is saved and set(windows) == {"dev"}
    assert sorted(read) == corpus.ids("dev")  # no training participant was read
    other = Normaliser().fit([np.zeros((3, 5))])
    with pytest.raises(ValueError, match="features"):
        load_windows(corpus, ALL, splits=("dev",), cache=None, normaliser=other)
