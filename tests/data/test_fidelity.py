"""Single bad values in real-layout files change nothing but their own frame, and are reported.

Each test writes a small synthetic corpus (:mod:`core.data.synth`), edits one file the way
real files are damaged, and compares with the untouched corpus.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data import formats
from core.data.check import check_corpus
from core.data.corpus import Corpus
from core.data.features import FeatureSettings, load_windows
from core.data.gate import participant_turns, session_turns
from core.data.synth import write_corpus
from tests.sharing import built_once

AUDIO = FeatureSettings(("covarep",))
FACE = FeatureSettings(("aus", "pose", "gaze"))


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> Path:
    """A small clean corpus, written once for both test processes; tests edit copies."""

    def build(folder: Path) -> None:
        write_corpus(folder / "clean", participants=8, minutes=0.4, seed=3)

    return built_once(tmp_path_factory, "fidelity", build) / "clean"


@pytest.fixture
def copy(clean, tmp_path) -> Path:
    root = tmp_path / "edited"
    shutil.copytree(clean, root)
    return root


def _train_pid(root: Path) -> int:
    return Corpus(root).ids("train", labelled=True)[0]


def _session_file(root: Path, pid: int, kind: str) -> Path:
    return root / formats.session_folder(pid) / formats.session_file(pid, kind)


def _voiced_row_in_a_turn(root: Path, pid: int) -> int:
    """Index of a voiced COVAREP row whose time lies inside a participant turn."""
    start, stop = session_turns(Corpus(root), pid)[0]
    lines = _session_file(root, pid, "covarep").read_text().splitlines()
    for row in range(int(np.ceil(start * 100)) + 1, int(stop * 100)):
        if float(lines[row].split(",")[1]) == 1.0:
            return row
    raise AssertionError("no voiced row in the first turn")


def _edit_cell(path: Path, line: int, column: int, text: str, sep: str = ",") -> None:
    """Set one cell (0-based file ``line`` and ``column``) to ``text``."""
    lines = path.read_text().splitlines()
    cells = lines[line].split(sep)
    cells[column] = text
    lines[line] = sep.join(cells)
    path.write_text("\n".join(lines) + "\n")


def _statistics(root: Path, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    _, normaliser, _ = load_windows(Corpus(root), settings, cache=None)
    return normaliser.mean_, normaliser.scale_


def _assert_close(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0.01, atol=1e-3 * np.abs(w).max())


def _problems(report: dict, pid: int) -> list[str]:
    return next(p["problems"] for p in report["participants"] if p["id"] == pid)


# --- Non-finite and absurd cells ----------------------------------------------------------


@pytest.mark.parametrize("cell", ["-inf", "inf", "1e30", "-1.#IND", "nan", ""])
@pytest.mark.parametrize("column", ["F0", "MCEP_0"])
def test_one_bad_covarep_cell_changes_no_statistic_and_is_reported(clean, copy, cell, column):
    pid = _train_pid(copy)
    row = _voiced_row_in_a_turn(copy, pid)
    path = _session_file(copy, pid, "covarep")
    _edit_cell(path, row, formats.COVAREP_COLUMNS.index(column), cell)
    _assert_close(_statistics(copy, AUDIO), _statistics(clean, AUDIO))
    problems = [p for p in _problems(check_corpus(copy), pid) if "COVAREP" in p]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{pid}_P/{path.name}: 1 frame has an unusable cell")
    assert f"row {row + 1}: {column} = '{cell}'" in problems[0]


@pytest.mark.parametrize("cell", ["-inf", "inf", "-1.#IND", "1e30", ""])
def test_one_bad_clnf_cell_changes_no_statistic_and_is_reported(clean, copy, cell):
    pid = _train_pid(copy)
    path = _session_file(copy, pid, "pose")
    start, _ = session_turns(Corpus(copy), pid)[0]
    line = 1 + int(start * formats.CLNF_RATE_HZ) + 3  # a frame inside the first turn
    _edit_cell(path, line, len(formats.CLNF_LEAD), cell, sep=", ")  # Tx
    _assert_close(_statistics(copy, FACE), _statistics(clean, FACE))
    problems = [p for p in _problems(check_corpus(copy), pid) if "pose" in p]
    assert len(problems) == 1 and f"row {line + 1}: Tx = '{cell}'" in problems[0], problems


@pytest.mark.parametrize("cell", ["-inf", ""])
def test_a_bad_cell_leaves_the_session_usable(copy, cell):
    # one bad or blank cell rejects neither the file nor the session
    pid = _train_pid(copy)
    _edit_cell(_session_file(copy, pid, "covarep"), 5, 0, cell)
    entry = next(p for p in check_corpus(copy)["participants"] if p["id"] == pid)
    assert "audio" in entry["modalities"]
    windows, _, notes = load_windows(Corpus(copy), AUDIO, cache=None)
    assert pid in windows["train"].participant_ids
    assert not any("skipped" in n for n in notes.get(pid, []))


# --- Labels -----------------------------------------------------------------------------------


def _set_label(root: Path, pid: int, column: str, text: str) -> int:
    """Write ``text`` into ``column`` of ``pid``'s train row; return the file line (1-based)."""
    path = root / formats.TRAIN_LABELS
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    line = next(i for i, x in enumerate(lines) if x.split(",")[0] == str(pid))
    cells = lines[line].split(",")
    cells[header.index(column)] = text
    lines[line] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return line + 1


@pytest.mark.parametrize("text", ["nan", "inf", "0.9"])
def test_a_label_that_is_not_a_finite_whole_number_is_rejected_with_file_and_row(copy, text):
    pid = _train_pid(copy)
    line = _set_label(copy, pid, "PHQ8_Binary", text)
    corpus = Corpus(copy)
    assert corpus.participants[pid].phq8_binary is None  # never truncated to 0
    assert pid not in corpus.ids("train", labelled=True)
    expected = f"{formats.TRAIN_LABELS} row {line}: PHQ8_Binary is '{text}'"
    assert any(expected in p for p in corpus.participants[pid].problems)


def test_an_empty_label_file_is_a_problem_not_a_traceback(copy):
    (copy / formats.DEV_LABELS).write_bytes(b"")
    corpus = Corpus(copy)
    assert any(p.startswith(f"{formats.DEV_LABELS}: file is empty") for p in corpus.problems)
    assert corpus.ids("train")


def test_a_single_column_test_id_file_is_not_split_on_a_letter(copy):
    corpus = Corpus(copy)
    test_ids = corpus.ids("test")
    (copy / formats.TEST_LABELS_FULL).unlink()
    (copy / formats.TEST_IDS).write_text("participant_ID\n" + "\n".join(map(str, test_ids)) + "\n")
    again = Corpus(copy)
    assert again.ids("test") == test_ids
    assert again.problems == []


def test_a_byte_order_mark_keeps_the_id_column(copy):
    path = copy / formats.TRAIN_LABELS
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    corpus = Corpus(copy)
    assert corpus.problems == []
    assert corpus.ids("train", labelled=True) == Corpus(copy).ids("train", labelled=True)
    assert len(corpus.ids("train", labelled=True)) > 0


# --- Transcripts --------------------------------------------------------------------------------


def _transcript_rows(root: Path, pid: int) -> list[list[str]]:
    text = _session_file(root, pid, "transcript").read_text()
    return [line.split("\t") for line in text.splitlines()]


def _write_transcript(root: Path, pid: int, rows: list[list[str]]) -> None:
    text = "\n".join("\t".join(r) for r in rows) + "\n"
    _session_file(root, pid, "transcript").write_text(text)


def test_an_infinite_time_is_one_reported_row_not_times_going_backwards(copy):
    pid = _train_pid(copy)
    rows = _transcript_rows(copy, pid)
    line = next(i for i, r in enumerate(rows) if r[2] == "Participant")
    rows[line][1] = "inf"
    _write_transcript(copy, pid, rows)
    problems = [p for p in _problems(check_corpus(copy), pid) if "TRANSCRIPT" in p]
    assert len(problems) == 1 and f"row {line + 1} has a start or stop time" in problems[0]
    assert np.isfinite(Corpus(copy).transcript(pid)[["start_time", "stop_time"]]).all().all()
    assert np.isfinite(session_turns(Corpus(copy), pid)).all()


def test_a_participant_turn_over_the_interviewer_does_not_gate_her_speech(copy):
    pid = _train_pid(copy)
    rows = _transcript_rows(copy, pid)
    first = next(i for i, r in enumerate(rows) if r[2] == "Participant")
    ellie = next(i for i, r in enumerate(rows) if i > first and r[2] == "Ellie")
    rows[first][1] = rows[ellie + 2][1]  # the turn now runs over Ellie's next line
    _write_transcript(copy, pid, rows)
    turns = session_turns(Corpus(copy), pid)
    np.testing.assert_array_equal(turns, participant_turns(Corpus(copy).transcript(pid)))
    e_start, e_stop = float(rows[ellie][0]), float(rows[ellie][1])
    assert not ((turns[:, 0] < e_stop) & (turns[:, 1] > e_start)).any()
    problems = _problems(check_corpus(copy), pid)
    assert any(f"participant row {first + 1} overlaps an interviewer line" in p for p in problems)


def test_a_negative_participant_turn_is_left_out_of_the_gate(copy):
    pid = _train_pid(copy)
    rows = _transcript_rows(copy, pid)
    first = next(i for i, r in enumerate(rows) if r[2] == "Participant")
    rows[first][0] = "-50"
    _write_transcript(copy, pid, rows)
    assert (session_turns(Corpus(copy), pid) >= 0).all()
    problems = _problems(check_corpus(copy), pid)
    assert any(f"participant row {first + 1} has a negative time" in p for p in problems)


# --- Label files as people have them -----------------------------------------------------------


def _spread_full_test(root: Path) -> None:
    """Blank lines between rows and ``,,,`` rows, as ``full_test_split.csv`` circulates."""
    path = root / formats.TEST_LABELS_FULL
    lines = path.read_text().splitlines()
    spread = [lines[0]] + [x for line in lines[1:] for x in ("", line, ",,,")]
    path.write_text("\n".join(spread) + "\n")


def test_blank_and_comma_rows_in_the_full_test_split_give_one_note(clean, copy):
    _spread_full_test(copy)
    corpus = Corpus(copy)
    assert corpus.ids("test", labelled=True) == Corpus(clean).ids("test", labelled=True)
    assert [p for p in corpus.problems if formats.TEST_LABELS_FULL in p] == [
        f"{formats.TEST_LABELS_FULL}: {2 * len(corpus.ids('test'))} empty row(s) (blank "
        "lines or rows of commas only) ignored"
    ]


def test_duplicate_decimal_and_cross_split_ids_are_reported(copy):
    corpus = Corpus(copy)
    train, dev = corpus.ids("train"), corpus.ids("dev")
    path = copy / formats.TRAIN_LABELS
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    lines[1] = ",".join([f"{first[0]}.0", *first[1:]])  # 900.0
    lines.append(lines[2])  # the second participant twice
    lines.append(",".join([str(dev[0]), *first[1:]]))  # a dev participant in train too
    path.write_text("\n".join(lines) + "\n")
    again = Corpus(copy)
    assert again.ids("train") == sorted([*train, dev[0]])  # the first file read wins
    assert again.ids("dev") == dev[1:]
    problems = again.problems
    assert any(f"'{first[0]}.0' at row 2), read as whole numbers" in p for p in problems)
    assert any(f"participant {train[1]} is listed twice (rows 3 and" in p for p in problems)
    both = f"participant {dev[0]} is listed in both the train and the dev"
    assert any(both in p for p in problems)


# --- Done when --------------------------------------------------------------------------------


def test_check_and_training_on_a_corpus_with_the_known_bad_cells(clean, copy):
    pid = _train_pid(copy)
    covarep = _session_file(copy, pid, "covarep")
    row = _voiced_row_in_a_turn(copy, pid)
    _edit_cell(covarep, row, formats.COVAREP_COLUMNS.index("MCEP_0"), "-inf")
    aus = _session_file(copy, pid, "aus")
    _edit_cell(aus, 40, len(formats.CLNF_LEAD), "-1.#IND", sep=", ")
    _spread_full_test(copy)
    report = check_corpus(copy)
    assert report["usable"]
    everything = report["problems"] + [p for e in report["participants"] for p in e["problems"]]
    said = {
        covarep.name: f"row {row + 1}: MCEP_0 = '-inf'",
        aus.name: "row 41: AU01_r = '-1.#IND'",
        formats.TEST_LABELS_FULL: "empty row(s)",
    }
    for name, phrase in said.items():
        about = [p for p in everything if name in p]
        assert len(about) == 1 and phrase in about[0], about
    _assert_close(_statistics(copy, AUDIO), _statistics(clean, AUDIO))
    _assert_close(_statistics(copy, FACE), _statistics(clean, FACE))


def test_the_normaliser_fits_on_finite_values_only():
    from core.data.normaliser import Normaliser

    rng = np.random.default_rng(0)
    clean = rng.normal(-5.0, 0.5, (200, 3)).astype(np.float32)
    bad = clean.copy()
    bad[7, 0], bad[9, 1] = -np.inf, np.inf
    fitted = Normaliser().fit([bad])
    finite = [np.delete(clean[:, j], {0: 7, 1: 9, 2: []}[j]) for j in range(3)]
    np.testing.assert_allclose(fitted.mean_, [f.mean() for f in finite], rtol=1e-6)
    np.testing.assert_allclose(fitted.scale_, [f.std() for f in finite], rtol=1e-5)
