"""The Predict page through AppTest: corpus participants and uploads, with real runs."""

from __future__ import annotations

import gc
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data import Corpus
from core.data.formats import COVAREP_RATE_HZ
from core.data.gate import session_turns
from core.explain.predict import NOTICE
from tests.screens.apptest import open_page


def metrics(at: AppTest) -> dict[str, str]:
    shown = {m.label: m.value for m in at.metric}
    for markdown in at.markdown:
        if markdown.value.startswith("**True label:** "):
            shown["True label"] = markdown.value.removeprefix("**True label:** ")
    return shown


def percent(value: str) -> float:
    return float(value.rstrip("%")) / 100


def why_sections(at: AppTest) -> list[str]:
    """The labels of the page's explanation sections."""
    return [e.label for e in at.expander if e.label.startswith("Why: ")]


def session_zip(corpus_root: Path, pid: int, folder_inside: bool = False) -> bytes:
    """One session folder of the corpus as zip bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((corpus_root / f"{pid}_P").iterdir()):
            name = f"{pid}_P/{path.name}" if folder_inside else path.name
            archive.write(path, name)
    return buffer.getvalue()


def test_notice_and_empty_state_without_runs(planted_corpus, runs_root):
    at = open_page("predict", planted_corpus)
    assert at.warning[0].value == NOTICE
    assert any("train the models" in i.value for i in at.info)


def test_corpus_participant_through_every_model(planted_corpus, trained_root):
    corpus = Corpus(planted_corpus)
    pid = next(p for p in corpus.ids("dev", labelled=True) if corpus.labels([p])[0] == 1)
    at = open_page("predict", planted_corpus, predict_pid=pid)
    shown = metrics(at)
    score = corpus.participants[pid].phq8_score
    assert shown["True label"] == f"depressed (PHQ-8 {score})"
    probs = [percent(shown[m]) for m in ("Text", "Audio", "Face")]
    assert all(0 <= p <= 1 for p in probs)
    assert percent(shown["Late fusion"]) == pytest.approx(np.mean(probs), abs=0.015)
    assert 0 <= percent(shown["Fusion"]) <= 1
    # The default runs are the best ones on this corpus: lowest validation loss.
    assert Path(at.selectbox(key="predict_face_run").value).name == "face"
    assert any("The fusion uses the runs it was trained with" in c.value for c in at.caption)
    assert why_sections(at) == ["Why: face", "Why: audio", "Why: text"]
    assert at.warning[0].value == NOTICE
    assert not any("in-sample" in w.value for w in at.warning)  # a dev participant
    # Explanations are computed only when their section is opened.
    assert not at.get("plotly_chart") and not at.get("html")
    at.session_state["predict_why_text"] = True
    at.run()
    assert any("<mark" in h.proto.body for h in at.get("html"))
    assert not at.get("plotly_chart")
    at.session_state["predict_why_face"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")
    assert metrics(at) == shown


def test_train_participant_fusion_uses_out_of_fold_text(planted_corpus, trained_root):
    pid = Corpus(planted_corpus).ids("train", labelled=True)[0]
    at = open_page("predict", planted_corpus, predict_pid=pid)
    assert any("out-of-fold" in t.value for t in at.text)  # a fusion note, as text
    in_sample = [w.value for w in at.warning if "so this score is in-sample" in w.value]
    heads = [w.split(":")[0] for w in in_sample]
    assert heads == ["Text", "Audio", "Face", "Fusion", "Late fusion"]
    assert percent(metrics(at)["Fusion"]) >= 0  # the in-sample fusion is still shown


def test_valid_upload_is_scored_and_a_bad_one_changes_nothing(planted_corpus, trained_root):
    corpus = Corpus(planted_corpus)
    pid = corpus.ids("test", labelled=True)[0]
    at = open_page("predict", planted_corpus, predict_source="An uploaded session (zip)")
    assert any("Upload one session" in i.value for i in at.info)
    at.file_uploader(key="predict_file").upload(
        "upload (1).zip", session_zip(planted_corpus, pid, folder_inside=True)
    )
    at.run()
    assert not at.exception, at.exception
    assert any(f"participant {pid}" in s.value for s in at.success)
    uploaded = metrics(at)
    # Same session as the corpus copy, so the same scores; the label comes from its ID.
    at_corpus = open_page("predict", planted_corpus, predict_pid=pid)
    for name in ("Text", "Audio", "Face", "Fusion", "Late fusion"):
        assert uploaded[name] == metrics(at_corpus)[name]
    assert uploaded["True label"].endswith("from the active corpus's split files for this ID")
    workdir = Path(at.session_state["predict_upload"]["workdir"])
    assert (workdir / f"{pid}_P.zip").exists()
    assert workdir.parent.name.startswith("daic-uploads-")  # removed when the server exits
    assert not (planted_corpus / workdir.name).exists()

    at.file_uploader(key="predict_file").upload("broken.zip", b"PK\x03\x04 not really a zip")
    at.run()
    assert not at.exception, at.exception
    (error,) = [e.value for e in at.error]
    assert "Upload refused, nothing was changed" in error
    assert any("broken.zip" in t.value for t in at.text)  # the file's name, as text
    assert metrics(at) == uploaded  # the earlier upload is still the one shown
    assert (workdir / f"{pid}_P.zip").exists()


def test_oversized_upload_is_refused_by_name(planted_corpus, trained_root, monkeypatch):
    import core.data.upload as upload

    monkeypatch.setattr(upload.open_upload, "__defaults__", (1024, upload.MAX_UNPACKED_BYTES))
    at = open_page("predict", planted_corpus, predict_source="An uploaded session (zip)")
    pid = Corpus(planted_corpus).ids("dev")[0]
    at.file_uploader(key="predict_file").upload("big.zip", session_zip(planted_corpus, pid))
    at.run()
    assert not at.exception, at.exception
    (error,) = [e.value for e in at.error]
    assert "Upload refused" in error and any(
        "big.zip" in t.value and "limit" in t.value for t in at.text
    )
    assert not at.metric


def damaged_covarep(folder: Path, pid: int, row: int, how: str) -> None:
    """Damage one row of a session's COVAREP file: a cell short, or text in a cell."""
    path = folder / f"{pid}_COVAREP.csv"
    lines = path.read_bytes().split(b"\n")
    cells = lines[row - 1].split(b",")
    if how == "short":
        cells = cells[:-1]
    else:
        cells[3] = b"loud"
    lines[row - 1] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))


def test_upload_with_a_damaged_covarep_names_the_row_and_shows_no_fusion(
    planted_corpus, trained_root, tmp_path
):
    pid = Corpus(planted_corpus).ids("test", labelled=True)[1]
    session = tmp_path / f"{pid}_P"
    shutil.copytree(planted_corpus / f"{pid}_P", session)
    damaged_covarep(session, pid, 11, "short")
    at = open_page("predict", planted_corpus, predict_source="An uploaded session (zip)")
    at.file_uploader(key="predict_file").upload("mine.zip", session_zip(tmp_path, pid))
    at.run()
    assert not at.exception, at.exception
    said = [m.value for m in (*at.error, *at.warning, *at.success, *at.caption)]
    assert not any("has no audio files" in m for m in said)
    why = f"mine.zip:{pid}_COVAREP.csv: row 11 has 73 columns, expected 74"
    assert "No audio score:" in [w.value for w in at.warning]
    assert "Audio:" in [e.value for e in at.error]
    assert [t.value for t in at.text].count(why) == 2  # the file's own text, as text
    shown = metrics(at)
    assert (shown["Audio"], shown["Fusion"]) == ("—", "not shown")
    assert percent(shown["Late fusion"]) == pytest.approx(
        np.mean([percent(shown["Text"]), percent(shown["Face"])]), abs=0.015
    )
    (caveat,) = [w.value for w in at.warning if w.value.startswith("Fusion: not shown")]
    assert "no usable audio input" in caveat


def test_corpus_participant_with_a_damaged_covarep_shows_no_fusion(trained_root, tmp_path):
    from core.data.synth import write_corpus

    root = tmp_path / "daic"
    write_corpus(root, participants=6, minutes=0.5, seed=5)
    corpus = Corpus(root)
    pid = corpus.ids("dev")[0]
    start, stop = session_turns(corpus, pid)[0]  # a row the audio runs read
    row = int((start + stop) / 2 * COVAREP_RATE_HZ) + 1
    damaged_covarep(root / f"{pid}_P", pid, row, "short")  # a text cell only masks a frame
    at = open_page("predict", root, predict_pid=pid)
    why = f"{pid}_P/{pid}_COVAREP.csv: row {row} has 73 columns, expected 74"
    assert "Audio:" in [e.value for e in at.error] and why in [t.value for t in at.text]
    assert sum(why in t.value for t in at.text) == 2  # the fusion's note names it too
    shown = metrics(at)
    assert shown["Fusion"] == "not shown"
    assert percent(shown["Late fusion"]) == pytest.approx(
        np.mean([percent(shown["Text"]), percent(shown["Face"])]), abs=0.015
    )
    assert any(w.value.startswith("Fusion: not shown") for w in at.warning)


def test_fusion_run_that_cannot_score_says_why_not_no_run(
    planted_corpus, trained_runs, tmp_path, monkeypatch
):
    root = tmp_path / "runs"
    for name in ("text", "audio", "face", "fusion"):
        shutil.copytree(trained_runs[name], root / name)
    (root / "fusion" / "best_model.pth").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(root))
    pid = Corpus(planted_corpus).ids("dev")[0]
    at = open_page("predict", planted_corpus, predict_pid=pid)
    assert metrics(at)["Fusion"] == "—"
    assert any(e.value.startswith("Fusion run fusion cannot score") for e in at.error)


CRAFTED = "![seen](http://127.0.0.1:9/pixel.png) [click](http://127.0.0.1:9/)"
"""A member name that, rendered as Markdown, would show a remote image and a link."""


def test_a_crafted_member_name_in_an_upload_is_shown_as_text(
    planted_corpus, trained_root, tmp_path
):
    pid = Corpus(planted_corpus).ids("test", labelled=True)[0]
    files = {p.name: p.read_bytes() for p in sorted((planted_corpus / f"{pid}_P").iterdir())}
    covarep = f"{pid}_COVAREP.csv"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            if name == covarep:  # damaged, inside a crafted folder
                name, data = f"{CRAFTED}/{name}", data.replace(b",", b";", 40)
            archive.writestr(name, data)
        archive.writestr(f"__MACOSX/{CRAFTED}", b"")  # a stray file, noted by name
    at = open_page("predict", planted_corpus, predict_source="An uploaded session (zip)")
    at.file_uploader(key="predict_file").upload("crafted.zip", buffer.getvalue())
    at.run()
    assert not at.exception, at.exception
    assert "No audio score:" in [w.value for w in at.warning]
    texts = [t.value for t in at.text]
    assert any(text.startswith(f"crafted.zip:{CRAFTED}/{covarep}") for text in texts)
    assert f"ignored stray macOS file __MACOSX/{CRAFTED}" in texts
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "subheader")
    rendered = [element.value for kind in kinds for element in at.get(kind)]
    assert not [text for text in rendered if "127.0.0.1:9" in text]


def test_an_upload_is_deleted_when_its_browser_session_ends(planted_corpus, trained_root):
    pid = Corpus(planted_corpus).ids("dev")[0]
    at = open_page("predict", planted_corpus, predict_source="An uploaded session (zip)")
    at.file_uploader(key="predict_file").upload(f"{pid}_P.zip", session_zip(planted_corpus, pid))
    at.run()
    assert not at.exception, at.exception
    workdir = Path(at.session_state["predict_upload"]["workdir"])
    assert (workdir / f"{pid}_P.zip").exists()
    server_folder = workdir.parent
    del at  # the session ends: its state is released
    gc.collect()
    assert not workdir.exists()
    assert server_folder.exists()  # the server's own folder stays until it exits
