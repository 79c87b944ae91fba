"""``check_corpus`` and ``python -m core.data check``: every file read, every problem named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import formats
from core.data.check import check_corpus, format_report, main_check
from core.data.synth import write_corpus

REPO = Path(__file__).resolve().parents[2]
HEADER = "\t".join(formats.TRANSCRIPT_COLUMNS)


def _problems(report: dict, pid: int) -> list[str]:
    return next(p for p in report["participants"] if p["id"] == pid)["problems"]


def _entry(report: dict, pid: int) -> dict:
    return next(p for p in report["participants"] if p["id"] == pid)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.data", "check", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- one malformed file per participant ------------------------------------------------

# participant: (file kind, contents that break it, phrase expected in the problem)
BROKEN = {
    301: ("covarep", lambda d: d.covarep(1.0).replace(b",0.42,", b",", 1), "73 columns"),
    302: ("covarep", lambda d: d.covarep(1.0).replace(b",0.31,", b",high,", 1), "non-numeric"),
    303: ("transcript", lambda d: b"", "file is empty"),
    304: ("aus", lambda d: d.clnf("aus", header=False), "has no header line"),
    305: (
        "covarep",
        lambda d: b",".join(c.encode() for c in formats.COVAREP_COLUMNS) + b"\n" + d.covarep(1.0),
        "starts with a header line",
    ),
    306: ("covarep", lambda d: d.covarep(1.0).replace(b",", b"\t"), "separated by tabs"),
    307: ("formant", lambda d: d.formant(1.0).replace(b",", b";"), "separated by semicolons"),
    308: ("transcript", lambda d: d.transcript([(1, 2, "Doctor", "hi")]), "unknown speaker"),
    309: (
        "pose",
        lambda d: d.clnf("pose").replace(b", 0.100, ", b", , ", 1),
        "1 frame has an unusable cell, left out like unvoiced or untracked frames "
        "(first at row 2: Ty = ''",
    ),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory, daic) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("broken")
    train = [300, *BROKEN, 310, 311, 312, 313, 314, 315]
    daic.labels(
        root,
        train=[daic.label_row(p, int(p % 3 == 0), 12 if p % 3 == 0 else 2) for p in train],
        dev=[daic.label_row(320, 1, 14)],
        test=[(330, 0, 3, 1)],
    )
    for pid in (300, 320, 330):
        daic.session(root, pid)
    for pid, (kind, make, _) in BROKEN.items():
        daic.session(root, pid, replace={kind: make(daic)})
    backwards = [(5.0, 6.0, "Ellie", "hi"), (2.0, 3.0, "Participant", "hello"),
                 (7.0, 6.5, "Participant", "bye")]  # fmt: skip
    daic.session(root, 310, replace={"transcript": daic.transcript(backwards)})
    only_ellie = [(1.0, 2.0, "Ellie", "hi"), (3.0, 4.0, "Ellie", "anyone there")]
    daic.session(root, 311, replace={"transcript": daic.transcript(only_ellie)})
    no_face = {k: daic.clnf(k, success=False) for k in formats.CLNF_FILES}
    daic.session(root, 312, replace=no_face)
    zeros = ("\n".join([",".join(["0"] * 74)] * 500) + "\n").encode()
    daic.session(root, 313, replace={"covarep": zeros})
    daic.session(root, 314, replace={"formant": None})
    path = daic.session(root, 315, archive=True)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"315_COVAREP.csv") + len("315_COVAREP.csv")  # first local header
    raw[start + 200 : start + 260] = bytes(60)  # damage the compressed COVAREP
    path.write_bytes(bytes(raw))
    return root, check_corpus(root)


@pytest.mark.parametrize("pid", list(BROKEN))
def test_each_malformed_file_is_reported_with_its_name(broken, pid):
    _, report = broken
    kind, _, phrase = BROKEN[pid]
    problems = _problems(report, pid)
    name = formats.session_file(pid, kind)
    assert any(p.startswith(f"{pid}_P/{name}: ") and phrase in p for p in problems), problems
    assert len(problems) == 1  # the session's other files were read and are fine


def test_modalities_are_those_that_parse(broken):
    _, report = broken
    expect = {
        300: ["text", "audio", "face"],
        301: ["text", "face"],
        303: ["audio", "face"],
        304: ["text", "audio", "face"],  # pose, gaze and landmarks still give a face
        307: ["text", "audio", "face"],  # FORMANT is not needed by any modality
        311: ["audio", "face"],  # no participant text
        312: ["text", "audio"],  # no face was ever tracked
        313: ["text", "face"],  # silent audio
    }
    assert {pid: _entry(report, pid)["modalities"] for pid in expect} == expect


def test_data_based_checks(broken):
    _, report = broken
    p310 = _problems(report, 310)
    assert any("310_P/310_TRANSCRIPT.csv: times go backwards at row 3" in p for p in p310)
    assert any("310_P/310_TRANSCRIPT.csv: row 4 stops" in p for p in p310)
    p311 = _problems(report, 311)
    assert p311 == ["311_P/311_TRANSCRIPT.csv: no participant lines, so there is no "
                    "participant text"]  # fmt: skip
    p312 = _problems(report, 312)
    assert len(p312) == len(formats.CLNF_FILES)
    assert all("no frame has success = 1" in p for p in p312)
    assert any(p.startswith("312_P/312_CLNF_AUs.txt") for p in p312)
    assert _problems(report, 313) == [
        "313_P/313_COVAREP.csv: every value is 0 (scrubbed or silent audio); "
        "no audio features to use"
    ]
    assert _problems(report, 314) == ["314_P/314_FORMANT.csv: file is missing from the session"]
    p315 = _problems(report, 315)
    assert any(p.startswith("315_P.zip:315_COVAREP.csv: archive is damaged") for p in p315)
    assert _entry(report, 315)["modalities"] == ["text", "face"]


def test_broken_files_leave_the_corpus_usable(broken, capsys):
    root, report = broken
    assert report["usable"] is True
    assert report["problems"] == []
    assert _problems(report, 300) == _problems(report, 320) == _problems(report, 330) == []
    assert main_check([str(root)]) == 0
    out = capsys.readouterr().out
    assert "usable" in out and "NOT usable" not in out
    assert "301_P/301_COVAREP.csv: has 73 columns" in out


def test_report_is_json_ready_with_the_exact_keys(broken):
    _, report = broken
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {"root", "usable", "participants", "splits", "problems"}
    assert report["splits"] == {
        "train": {"n": 16, "depressed": 6},
        "dev": {"n": 1, "depressed": 1},
        "test": {"n": 1, "depressed": 0},
    }
    keys = {"id", "split", "phq8_binary", "phq8_score", "gender", "modalities", "problems"}
    assert all(set(p) == keys for p in report["participants"])


def test_one_worker_gives_the_same_report_and_progress_counts_sessions(broken):
    root, report = broken
    calls = []
    again = check_corpus(root, progress=lambda done, total: calls.append((done, total)), workers=1)
    assert again == report
    assert calls == [(i, 18) for i in range(1, 19)]


# --- the defects of the real corpus ----------------------------------------------------


@pytest.fixture(scope="module")
def real_layout(tmp_path_factory, daic) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("daic")
    row = daic.label_row
    daic.labels(
        root,
        train=[row(300, 0, 1), row(318, 1, 11), row(319, 1, 13, items=[3, 3, 3, 2, 2, "", 0, 0]),
               row(373, 0, 4), row(402, 0, 5), row(409, 0, 10), row(440, 1, 16)],
        dev=[row(301, 0, 2), row(451, 1, 12), row(487, 0, 0)],
        test=[(303, 1, 19, 0), (310, 0, 4, 1)],
    )  # fmt: skip
    for pid in (300, 301, 310, 318, 319, 373, 409):
        daic.session(root, pid, archive=pid % 2 == 1)
    daic.session(root, 303, extra={"303_CLNF_hog.txt": b"0.1 0.2 0.3\n"})
    daic.session(root, 402, seconds=45.0, video_seconds=10.0)
    participant_only = [(1.0, 3.0, "Participant", "i'm okay"), (4.0, 6.0, "Participant", "yes")]
    daic.session(root, 451, replace={"transcript": daic.transcript(participant_only)})
    daic.session(root, 487, archive=True, extra={"._487_TRANSCRIPT.csv": b"\x00\x05\x16\x07"})
    path = daic.session(root, 440, archive=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    return root, check_corpus(root)


def test_real_corpus_defects_are_each_reported(real_layout):
    _, report = real_layout
    expect = {
        318: "34.3 s out of sync",
        319: "PHQ8_Failure is blank",
        373: "interrupted between about 395 s and 428 s",
        402: "402_P/402_CLNF_AUs.txt: video ends at",
        409: "PHQ8_Score 10 implies PHQ8_Binary 1",
        440: "440_P.zip: archive is damaged or truncated",
        451: "451_P/451_TRANSCRIPT.csv: no interviewer (Ellie) lines",
        487: "._487_TRANSCRIPT.csv",
        303: "303_CLNF_hog.txt: HOG features shipped as .txt",
    }
    for pid, phrase in expect.items():
        problems = _problems(report, pid)
        assert any(phrase in p for p in problems), (pid, problems)
    assert "video cut early" in _problems(report, 402)[0]
    assert _problems(report, 300) == _problems(report, 301) == _problems(report, 310) == []


def test_real_corpus_with_defects_is_usable(real_layout):
    _, report = real_layout
    assert report["usable"] is True
    assert _entry(report, 451)["modalities"] == ["text", "audio", "face"]  # still usable
    assert _entry(report, 402)["modalities"] == ["text", "audio", "face"]
    assert _entry(report, 487)["modalities"] == ["text", "audio", "face"]
    assert _entry(report, 440)["modalities"] == []
    assert _entry(report, 409)["phq8_binary"] == 0  # the file's label is kept
    assert report["splits"]["train"] == {"n": 7, "depressed": 3}


def test_participant_in_two_splits_is_reported(tmp_path, daic):
    daic.corpus(tmp_path)
    dev = tmp_path / formats.DEV_LABELS
    dev.write_text(dev.read_text() + daic.label_row(300, 1, 12) + "\n")
    report = check_corpus(tmp_path)
    assert any("300 is listed in both the train and the dev split" in p for p in report["problems"])
    assert _entry(report, 300)["split"] == "train"
    assert report["usable"] is True


# --- usable or not ---------------------------------------------------------------------


def test_corpus_without_train_labels_is_not_usable(tmp_path, daic):
    daic.corpus(tmp_path)
    (tmp_path / formats.TRAIN_LABELS).unlink()
    report = check_corpus(tmp_path)
    assert report["usable"] is False
    assert any(f"{formats.TRAIN_LABELS} is missing" in p for p in report["problems"])
    assert any(p.startswith("not usable") for p in report["problems"])


def test_corpus_whose_train_sessions_are_all_unreadable_is_not_usable(tmp_path, daic, capsys):
    daic.labels(tmp_path, train=[daic.label_row(300, 1, 12)], dev=[], test=[])
    daic.session(tmp_path, 300, replace={k: b"" for k in formats.SESSION_FILES})
    report = check_corpus(tmp_path)
    assert report["usable"] is False
    assert len(_problems(report, 300)) == len(formats.SESSION_FILES)
    assert main_check([str(tmp_path)]) == 1
    assert "NOT usable" in capsys.readouterr().out


def test_empty_folder_is_not_usable(tmp_path):
    report = check_corpus(tmp_path)
    assert report["usable"] is False and report["participants"] == []


# --- command line ----------------------------------------------------------------------


@pytest.mark.slow
def test_cli_json(tmp_path, daic):
    daic.corpus(tmp_path, archive=True)
    result = _run_cli(str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"root", "usable", "participants", "splits", "problems"}
    assert isinstance(report["root"], str) and report["usable"] is True
    assert set(report["splits"]) == {"train", "dev", "test"}
    for entry in report["participants"]:
        assert type(entry["id"]) is int
        assert isinstance(entry["modalities"], list) and isinstance(entry["problems"], list)
        assert entry["split"] in formats.SPLITS
        assert entry["phq8_binary"] in (0, 1)
    assert report["participants"][0]["modalities"] == ["text", "audio", "face"]


@pytest.mark.slow
def test_cli_exit_status_for_unusable_and_missing_roots(tmp_path):
    unusable = _run_cli(str(tmp_path))
    assert unusable.returncode == 1
    assert "NOT usable" in unusable.stdout
    missing = _run_cli(str(tmp_path / "nowhere"), "--json")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert "nowhere does not exist" in missing.stderr


def test_root_that_is_a_file_and_bad_arguments(tmp_path, capsys):
    (tmp_path / "corpus.zip").write_bytes(b"PK")
    assert main_check([str(tmp_path / "corpus.zip")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main_check([]) == 2
    assert main_check(["--help"]) == 0


def test_human_report_lists_splits_then_participants(real_layout):
    _, report = real_layout
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0].endswith(": usable")
    assert lines[3].split() == ["train", "7", "3", "6", "6", "6"]
    assert "  402 (train):" in lines
    assert text.index("train ") < text.index("  318 (train):") < text.index("  451 (dev):")


# --- the synthetic corpus --------------------------------------------------------------


@pytest.mark.parametrize("archives", [False, True])
def test_synthetic_corpus_has_no_problems_at_all(tmp_path, archives):
    summary = write_corpus(
        tmp_path / "synth", participants=12 if not archives else 6, minutes=0.2, archives=archives
    )
    report = check_corpus(tmp_path / "synth")
    assert report["usable"] is True
    assert report["problems"] == []
    assert [p["problems"] for p in report["participants"]] == [[]] * summary["participants"]
    assert all(p["modalities"] == ["text", "audio", "face"] for p in report["participants"])
    assert {s: c["n"] for s, c in report["splits"].items()} == {
        s: len(ids) for s, ids in summary["splits"].items()
    }
