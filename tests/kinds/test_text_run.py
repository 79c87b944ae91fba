import json
import re

import numpy as np
import pytest

from core import hparams
from core.data import Corpus
from core.evaluate import evaluate_run
from core.kinds.text_run import load_text_run, participant_documents, train_oof
from core.runs import folder
from core.train import build_parser, main


def _train_text(corpus_root, run_dir, *extra):
    args = ["text", "--data", str(corpus_root), "--run-dir", str(run_dir), "--quiet"]
    return main([*args, "--min-df", "2", *extra])


def test_text_run_writes_the_run_folder_contract(small_corpus, tmp_path):
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    config = json.loads((run_dir / folder.CONFIG).read_text())
    assert config["modality"] == "text" and config["text"]["min_df"] == 2
    status = folder.read_json(run_dir / folder.STATUS)
    assert status["state"] == "completed"
    (record,) = folder.read_metrics(run_dir)
    for key in ("epoch", "train_loss", "val_loss", "lr", "val_macro_f1", "val_auroc"):
        assert key in record
    assert record["val_n"] == len(Corpus(small_corpus).ids("dev", labelled=True))
    assert (run_dir / folder.LOG).read_text().strip()


def test_text_model_sees_no_interviewer_words_by_default(small_corpus, tmp_path):
    corpus = Corpus(small_corpus)
    participant_words, interviewer_words = set(), set()
    for pid in corpus.ids("train"):
        transcript = corpus.transcript(pid)
        for speaker, value in zip(transcript["speaker"], transcript["value"], strict=True):
            words = set(re.findall(r"[a-z]+", value.lower()))
            (participant_words if speaker == "Participant" else interviewer_words).update(words)
    interviewer_only = interviewer_words - participant_words
    assert interviewer_only, "the fixture should have words only the interviewer says"
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    vocabulary = load_text_run(run_dir).named_steps["tfidf"].vocabulary_
    leaked = {term for term in vocabulary if set(term.split()) & interviewer_only}
    assert not leaked

    both = tmp_path / "both"
    assert _train_text(small_corpus, both, "--speakers", "both") == 0
    vocabulary = load_text_run(both).named_steps["tfidf"].vocabulary_
    assert {term for term in vocabulary if set(term.split()) & interviewer_only}


def test_saved_out_of_fold_probabilities_are_not_in_sample(small_corpus, tmp_path):
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    corpus = Corpus(small_corpus)
    ids, docs, labels, _ = participant_documents(corpus, "train", "participant")
    oof = train_oof(run_dir, ids)
    in_sample = load_text_run(run_dir).predict_proba(docs)[:, 1]
    assert np.isfinite(oof).all()
    # In-sample forest probabilities separate the training participants almost perfectly;
    # the saved out-of-fold ones must not be those.
    assert not np.allclose(oof, in_sample)
    gap_in = in_sample[labels == 1].mean() - in_sample[labels == 0].mean()
    gap_oof = oof[labels == 1].mean() - oof[labels == 0].mean()
    assert gap_in > gap_oof


def test_evaluate_text_run_reports_participant_metrics_and_baselines(small_corpus, tmp_path):
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    report = evaluate_run(run_dir, "dev", n_boot=50)
    assert report["level"] == "participant"
    assert set(report["baselines"]) == {"always_depressed", "always_not_depressed"}
    assert report["metrics"]["n"] == len(report["participants"])
    lo, hi = report["intervals"]["macro_f1"]
    assert lo <= report["metrics"]["macro_f1"] <= hi


def test_tampered_text_model_is_refused(small_corpus, tmp_path):
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    model = run_dir / "text_model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    try:
        load_text_run(run_dir)
    except Exception as error:  # noqa: BLE001
        assert "text_model.skops" in str(error)
    else:
        raise AssertionError("a tampered model must not load")


def test_bad_arguments_exit_2_with_a_message(small_corpus, tmp_path, capsys):
    assert main(["text", "--data", str(small_corpus), "--hidden-size", "8"]) == 2
    assert "--hidden-size" in capsys.readouterr().err
    assert main(["audio", "--dropout", "1.5", "--data", str(small_corpus)]) == 2
    assert "dropout" in capsys.readouterr().err
    assert main(["text", "--data", str(small_corpus), "--audio-run", str(small_corpus)]) == 2
    assert "text runs do not take --audio-run" in capsys.readouterr().err
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter.tex").write_text("results")
    assert main(["text", "--data", str(small_corpus), "--run-dir", str(thesis)]) == 2
    assert "is not empty and holds no run" in capsys.readouterr().err
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter.tex"]
    run_dir = tmp_path / "text"
    assert _train_text(small_corpus, run_dir) == 0
    assert main(["--resume", str(run_dir)]) == 2
    assert "text runs have no epochs" in capsys.readouterr().err


def _help_entries(text):
    """``--option`` to its help text, from ``--help`` output (wrapped lines joined)."""
    entries, current = {}, None
    for line in text.splitlines():
        words = line.split()
        if line.startswith("  --"):
            current = words[0]
            entries[current] = " ".join(words[1:])
        elif current and line.startswith(" " * 10) and words:
            entries[current] += " " + " ".join(words)
        else:
            current = None
    return entries


def test_help_shows_every_hyper_parameters_default_and_allowed_values(capsys):
    assert main(["--help"]) == 0
    entries = _help_entries(capsys.readouterr().out)
    for h in hparams.HPARAMS:
        shown = entries["--" + h.name.replace("_", "-")]
        assert "default: " in shown and h.allowed() in shown, (h.name, shown)
    hidden = "default: audio 64, face 64, fusion 16; allowed range 8 to 256"
    assert hidden in entries["--hidden-size"]
    assert "default: false; allowed: true or false" in entries["--include-formant"]
    assert "default: participant; allowed: participant, all" in entries["--gate"]


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--include-formant", "maybe", "true or false"),
        ("--lr", "nan", "1e-05 to 0.1"),
        ("--lr", "inf", "1e-05 to 0.1"),
        ("--dropout", "-0.1", "0 to 0.8"),
        ("--hidden-size", "100000", "8 to 256"),
        ("--hidden-size", "64.5", "8 to 256"),
        ("--max-epochs", "900", "1 to 500"),
        ("--gate", "some", "participant, all"),
        ("--face-features", "aus,smell", "aus, pose, gaze, landmarks"),
        ("--seed", "-1", "0 to 4294967295"),
        ("--threads", "0", "1"),
    ],
)
def test_invalid_values_exit_2_naming_option_value_and_allowed_range(
    small_corpus, tmp_path, capsys, option, value, allowed
):
    modality = "face" if option == "--face-features" else "audio"
    args = [modality, "--data", str(small_corpus), "--runs-root", str(tmp_path), option, value]
    assert main(args) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert option in message and value in message and allowed in message, message
    assert list(tmp_path.iterdir()) == []  # no run was started


def test_valid_words_for_true_and_false_are_accepted():
    parser = build_parser()
    for word, value in (("true", True), ("no", False), ("ON", True), ("0", False)):
        assert parser.parse_args(["audio", "--include-formant", word]).include_formant is value


def test_a_data_folder_that_does_not_exist_exits_2(tmp_path, capsys):
    assert main(["audio", "--data", str(tmp_path / "nowhere"), "--runs-root", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_a_fold_run_trains_and_validates_on_its_own_participants(small_corpus, tmp_path):
    from core.config import make_config, open_corpus
    from core.evaluation.folds import participant_folds

    corpus = Corpus(small_corpus)
    pool = corpus.ids("train", labelled=True) + corpus.ids("dev", labelled=True)
    fold = participant_folds(pool, corpus.labels(pool).tolist(), 2, seed=0)[0]
    config = make_config("text", small_corpus, {"min_df": 2}, assignment=fold)
    config_file = tmp_path / "fold.json"
    config_file.write_text(json.dumps(config))
    run_dir = tmp_path / "fold"
    assert main(["--config", str(config_file), "--run-dir", str(run_dir), "--quiet"]) == 0
    (record,) = folder.read_metrics(run_dir)
    assert record["val_n"] == len(fold["dev"])
    report = evaluate_run(run_dir, "dev")
    assert sorted(p["id"] for p in report["participants"]) == fold["dev"]
    fold_corpus = open_corpus(folder.read_config(run_dir))
    assert fold_corpus.ids("train") == fold["train"]
    assert fold_corpus.ids("test") == corpus.ids("test")


def test_an_assignment_naming_a_test_participant_is_refused(small_corpus):
    from core.data import DataError

    corpus = Corpus(small_corpus)
    with pytest.raises(DataError, match="test split, not train or dev"):
        corpus.assign({"train": corpus.ids("train"), "dev": corpus.ids("test")[:1]})
