"""A result records what it was made from and says when that changed (issue 16, item 1)."""

import os
import shutil
from pathlib import Path

import pytest

from core.data import Corpus
from core.data.formats import DEV_LABELS, TRAIN_LABELS
from core.kinds import get_kind
from core.kinds.fingerprint import corpus_changes, corpus_fingerprint, source_changes
from core.kinds.fusion_run import SourcesChanged, predict_fusion, score_fusion
from core.kinds.results import EVALUATION_FILE, evaluation_key, read_evaluation
from core.runs import folder
from core.train import main
from core.training.checkpoint import load_checkpoint, save_checkpoint
from tests.kinds.helpers import copy_run, linked_copy, replace_file


def drop_row(labels: Path, pid: int) -> None:
    lines = labels.read_text().splitlines(keepends=True)
    replace_file(labels, "".join(line for line in lines if not line.startswith(f"{pid},")))


def test_the_corpus_fingerprint_names_what_changed_and_ignores_what_the_run_does_not_read(
    small_corpus, tmp_path
):
    root = linked_copy(small_corpus, tmp_path / "daic")
    saved = corpus_fingerprint(Corpus(root), ("covarep", "transcript"))
    first, second = Corpus(root).ids("train", labelled=True)[:2]
    session = root / f"{first}_P"
    os.utime(session / f"{first}_COVAREP.csv")  # touched, same bytes: not a change
    face = session / f"{first}_CLNF_AUs.txt"
    replace_file(face, face.read_text() + "\n")  # a file an audio run never reads
    assert corpus_changes(saved, Corpus(root)) == []

    transcript = session / f"{first}_TRANSCRIPT.csv"
    replace_file(transcript, transcript.read_text() + "\n")
    drop_row(root / TRAIN_LABELS, second)
    assert corpus_changes(saved, Corpus(root)) == [
        "the label files changed",
        f"train participants removed: {second}",
        f"session files changed for participants {first}",
    ]


def test_a_fingerprint_recorded_with_sha1_is_compared_by_sha1(small_corpus, tmp_path):
    root = linked_copy(small_corpus, tmp_path / "daic")
    new = corpus_fingerprint(Corpus(root), ("covarep", "transcript"))
    old = corpus_fingerprint(Corpus(root), ("covarep", "transcript"), content_hash="sha1")
    assert new["content_hash"] == "xxh3_128" and new["sessions"] != old["sessions"]
    del old["content_hash"]  # as written before files were hashed with XXH3
    assert corpus_changes(old, Corpus(root)) == []
    first = Corpus(root).ids("train", labelled=True)[0]
    transcript = root / f"{first}_P" / f"{first}_TRANSCRIPT.csv"
    replace_file(transcript, transcript.read_text() + "\n")
    changed = [f"session files changed for participants {first}"]
    assert corpus_changes(old, Corpus(root)) == changed == corpus_changes(new, Corpus(root))


def _copy_run(run_dir: Path, dest: Path, root: Path) -> Path:
    """A copy of a run that trains on the corpus at ``root``."""
    shutil.copytree(run_dir, dest)
    config = folder.read_config(dest)
    config["data"]["root"] = str(root)
    folder.write_config(dest, config)
    return dest


def test_resume_on_a_changed_corpus_is_refused_unless_allowed(
    tiny_audio_run, small_corpus, tmp_path, capsys
):
    root = linked_copy(small_corpus, tmp_path / "daic")
    run_dir = _copy_run(tiny_audio_run, tmp_path / "audio", root)
    assert main(["--resume", str(run_dir), "--more-epochs", "1", "--quiet"]) == 0  # unchanged
    dropped = Corpus(root).ids("train", labelled=True)[-1]
    drop_row(root / TRAIN_LABELS, dropped)
    capsys.readouterr()

    assert main(["--resume", str(run_dir), "--more-epochs", "1", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert f"{run_dir} was trained on other data: the label files changed; " in error
    assert f"train participants removed: {dropped}" in error and "--allow-changed-data" in error
    assert len(folder.read_metrics(run_dir)) == 2  # nothing trained

    args = ["--resume", str(run_dir), "--more-epochs", "1", "--allow-changed-data", "--quiet"]
    assert main(args) == 0
    assert len(folder.read_metrics(run_dir)) == 3
    saved = load_checkpoint(run_dir / folder.LATEST)["config"]["data"]["fingerprint"]
    assert corpus_changes(saved, Corpus(root)) == []  # the new checkpoint knows the new data


@pytest.mark.parametrize(
    "option",
    ["--data", "--seed", "--run-dir", "--config", "--audio-run", "--runs-root", "--lr"],
)
def test_resume_refuses_options_it_would_ignore(tiny_audio_run, option, capsys):
    value = {"--seed": "1", "--lr": "0.01", "--config": str(tiny_audio_run / folder.CONFIG)}
    before = (tiny_audio_run / folder.CONFIG).read_bytes(), folder.read_metrics(tiny_audio_run)
    args = ["--resume", str(tiny_audio_run), option, value.get(option, str(tiny_audio_run.parent))]
    assert main(args) == 2
    assert f"{option} belongs to a new run" in capsys.readouterr().err
    after = (tiny_audio_run / folder.CONFIG).read_bytes(), folder.read_metrics(tiny_audio_run)
    assert after == before


def test_a_saved_evaluation_is_stale_once_the_labels_change(small_corpus, tmp_path):
    root = linked_copy(small_corpus, tmp_path / "daic")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    folder.write_config(run_dir, {"modality": "audio", "data": {"root": str(root)}})
    (run_dir / folder.BEST).write_bytes(b"a model")
    splits = {"dev": {"no_labels": "-"}, "test": {"no_labels": "-"}}
    evaluation = {"key": evaluation_key(run_dir), "evaluated": 0.0, "splits": splits}
    folder.write_json_atomic(run_dir / EVALUATION_FILE, evaluation)
    assert read_evaluation(run_dir) == evaluation
    drop_row(root / DEV_LABELS, Corpus(root).ids("dev")[0])
    assert read_evaluation(run_dir) is None


def test_a_copied_run_keeps_its_evaluation_and_a_changed_model_does_not(small_corpus, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    folder.write_config(run_dir, {"modality": "audio", "data": {"root": str(small_corpus)}})
    (run_dir / folder.BEST).write_bytes(b"a model")
    splits = {"dev": {"no_labels": "-"}, "test": {"no_labels": "-"}}
    evaluation = {"key": evaluation_key(run_dir), "evaluated": 0.0, "splits": splits}
    folder.write_json_atomic(run_dir / EVALUATION_FILE, evaluation)
    # cp -r without -p: every file gets a new modification time
    copy = Path(shutil.copytree(run_dir, tmp_path / "copy", copy_function=shutil.copy))
    os.utime(copy / folder.BEST, ns=(1, 1))
    assert read_evaluation(copy) == evaluation
    # other weights of the same size, saved (as checkpoints are) under the old time
    stamp = (copy / folder.BEST).stat().st_mtime_ns
    (copy / "new").write_bytes(b"A model")
    os.replace(copy / "new", copy / folder.BEST)
    os.utime(copy / folder.BEST, ns=(stamp, stamp))
    assert read_evaluation(copy) is None


def _point_source(run_dir: Path, modality: str, source: Path) -> None:
    """Make the fusion run ``run_dir`` name ``source`` as its ``modality`` run."""
    config = folder.read_config(run_dir)
    config["sources"][modality] = str(source)
    folder.write_config(run_dir, config)
    for name in (folder.BEST, folder.LATEST):
        if (run_dir / name).exists():
            checkpoint = load_checkpoint(run_dir / name)
            checkpoint["config"]["sources"][modality] = str(source)
            checkpoint["config"]["source_models"][modality]["run"] = str(source)
            save_checkpoint(run_dir / name, checkpoint)


@pytest.fixture
def changed_audio_source(trained_runs, tmp_path):
    """A copy of the fusion run whose (copied) audio source now has other weights.

    The session's runs stay as they are: the fusion and its audio source are copied, the
    copy pointed at the copied source, and the copied source changed, as if retrained.
    """
    audio = copy_run(trained_runs["audio"], tmp_path / "audio")
    fusion = copy_run(trained_runs["fusion"], tmp_path / "fusion")
    _point_source(fusion, "audio", audio)
    assert source_changes(load_checkpoint(fusion / folder.BEST)["config"]["source_models"]) == {}
    checkpoint = load_checkpoint(audio / folder.BEST)
    weights = checkpoint["model_state_dict"]
    name = next(iter(weights))
    weights[name] = weights[name] + 0.5
    save_checkpoint(audio / folder.BEST, checkpoint)
    return fusion


def test_a_fusion_whose_source_changed_refuses_to_score(
    trained_runs, planted_corpus, changed_audio_source, capsys
):
    fusion = changed_audio_source
    why = "the audio run audio was retrained or resumed since"
    pid = Corpus(planted_corpus).ids("dev", labelled=True)[0]
    with pytest.raises(SourcesChanged, match=why):
        score_fusion(fusion, Corpus(planted_corpus), pid)
    with pytest.raises(SourcesChanged, match="train a new fusion run"):
        predict_fusion(get_kind("fusion").load(fusion), "dev")
    assert read_evaluation(fusion) is None  # its saved numbers are not the fusion's now
    assert main(["--resume", str(fusion), "--more-epochs", "1", "--quiet"]) == 2
    assert why in capsys.readouterr().err


def test_a_fusion_scores_while_its_sources_are_the_ones_it_was_trained_with(
    trained_runs, planted_corpus
):
    pid = Corpus(planted_corpus).ids("dev", labelled=True)[0]
    score = score_fusion(trained_runs["fusion"], Corpus(planted_corpus), pid)
    assert 0.0 <= score.probability <= 1.0
    assert read_evaluation(trained_runs["fusion"]) is not None
