"""The shortcut audit: speaker variants and the length baseline on the same participants."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.data.text import participant_document
from core.kinds.results import read_evaluation
from core.report.analysis import audit_findings, audit_section
from core.report.audit import (
    LENGTH_BASELINE,
    SPEAKERS,
    attribution_audit,
    length_baseline,
    paired_auroc_difference,
    report_folder,
    share_inside,
    text_audit,
    time_inside,
    word_counts,
)
from core.report.card import Card, number
from core.report.inputs import load_run
from core.report.predictions import Predictions
from core.runs import folder


def _snapshot(run_dir):
    return {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}


@pytest.fixture(scope="module")
def audited(report_text_run):
    """The audit of the session's text run, with its two variants trained once."""
    before = _snapshot(report_text_run)
    audit = text_audit(load_run(report_text_run), n_boot=50, train=True)
    return audit, before


def test_variants_differ_from_the_run_only_in_speakers(report_text_run, audited):
    audit, _ = audited
    assert audit["notes"] == []
    config = folder.read_config(report_text_run)
    assert set(audit["variant_dirs"]) == {"interviewer", "both"}
    for speakers, path in audit["variant_dirs"].items():
        variant = folder.read_config(path)
        assert variant["text"]["speakers"] == speakers
        assert {**variant["text"], "speakers": "participant"} == config["text"]
        assert (variant["seed"], variant["data"]) == (config["seed"], config["data"])
        assert read_evaluation(path) is not None
        assert report_folder(report_text_run) in Path(path).parents


def test_every_row_scores_the_same_participants(report_text_run, audited):
    audit, _ = audited
    inputs = load_run(report_text_run)
    assert set(audit["splits"]) == set(inputs.reports)
    for split, entry in audit["splits"].items():
        ids = entry["ids"]
        assert ids and ids == sorted(ids)
        assert set(ids) <= set(inputs.predictions(split).ids.tolist())
        names = [row["name"] for row in entry["rows"]]
        assert len(names) == len(SPEAKERS) + 1 and names[-1] == LENGTH_BASELINE
        assert any("this run" in name for name in names)
        own = next(row for row in entry["rows"] if row["speakers"] == "participant")
        for row in entry["rows"]:
            if row is not own and row["auroc"] is not None and own["auroc"] is not None:
                difference = row["auroc_minus_participant"]
                assert difference == pytest.approx(row["auroc"] - own["auroc"])
            assert row["n"] == len(ids)
            assert row["n_depressed"] == entry["rows"][0]["n_depressed"]
            lo, hi = row["auroc_interval"]
            assert 0.0 <= lo <= hi <= 1.0


def test_the_run_folder_is_untouched_and_variants_are_reused(report_text_run, audited):
    _, before = audited
    assert _snapshot(report_text_run) == before
    variant = report_folder(report_text_run) / "audit" / "speakers-interviewer"
    stamp = (variant / folder.CONFIG).stat().st_mtime_ns
    again = text_audit(load_run(report_text_run), n_boot=50, train=True)
    assert (variant / folder.CONFIG).stat().st_mtime_ns == stamp  # not trained again
    assert again["splits"]["dev"]["ids"] == audited[0]["splits"]["dev"]["ids"]


def test_length_baseline_counts_the_participants_words(small_corpus, report_text_run):
    inputs = load_run(report_text_run)
    corpus = inputs.corpus
    pid = corpus.ids("dev", "text", labelled=True)[0]
    words = participant_document(corpus.transcript(pid), "participant").split()
    assert word_counts(corpus, [pid]) == {pid: len(words)}
    baseline = length_baseline(corpus, ("dev",))
    dev = baseline["dev"]
    assert set(dev.ids.tolist()) == set(corpus.ids("dev", "text", labelled=True))
    counts = word_counts(corpus, dev.ids.tolist())
    # One feature, one monotone map: more words, a probability on one side, never both.
    order = sorted(dev.ids.tolist(), key=counts.get)
    probs = dict(zip(dev.ids.tolist(), dev.probs, strict=True))
    steps = [probs[b] - probs[a] for a, b in zip(order, order[1:], strict=False)]
    assert all(s >= -1e-12 for s in steps) or all(s <= 1e-12 for s in steps)


def test_without_training_a_missing_variant_is_reported(report_text_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(report_text_run, copy)
    audit = text_audit(load_run(copy), n_boot=20, train=False)
    assert any("not trained yet" in note for note in audit["notes"])
    assert not (tmp_path / "copy.report" / "audit" / "speakers-both").exists()


def test_attribution_share_counts_only_real_steps_inside_participant_turns():
    # Steps at 0.5 and 2.5 s (window 0) and 2.9 s (window 1) are inside the turns; 1.5 and
    # 4.0 s are outside; the NaN step is padding. Per-step weight: |values| summed over
    # the two features, so 2 everywhere but 6 at 1.5 s: inside 2 + 2 + 2 of 2+6+2+2+2.
    values = np.ones((2, 3, 2))
    values[0, 1] = -3.0
    windows = SimpleNamespace(
        turns=np.array([[0.0, 1.0], [2.0, 3.0]]),
        x=np.zeros((2, 3, 2)),
        times=np.array([[0.5, 1.5, 2.5], [2.9, np.nan, 4.0]]),
    )
    explanation = SimpleNamespace(windows=windows, attribution=SimpleNamespace(values=values))
    assert share_inside(explanation) == pytest.approx(6 / 14)
    assert time_inside(explanation) == pytest.approx(3 / 5)
    windows.turns = np.zeros((0, 2))
    assert share_inside(explanation) is None and time_inside(explanation) is None


def test_an_audio_runs_attribution_audit_is_kept_beside_the_run(trained_runs, tmp_path):
    run_dir = shutil.copytree(trained_runs["audio"], tmp_path / "audio")
    before = _snapshot(run_dir)
    audit = attribution_audit(load_run(run_dir), n_participants=1)
    assert audit["gate"] == "participant" and len(audit["participants"]) == 1
    # Only participant turns are kept by this gate: all attribution falls inside them.
    assert audit["mean_share_inside"] == pytest.approx(1.0, abs=0.05)
    assert audit["mean_time_inside"] == pytest.approx(1.0, abs=0.05)
    assert audit["features"] and audit["features"][0]["share"] > 0
    assert (tmp_path / "audio.report" / "attribution.json").is_file()
    assert _snapshot(run_dir) == before
    assert attribution_audit(load_run(run_dir), n_participants=1) == audit
    card = Card("audit", "")
    audit_section(card, [("audio run", audit, "")])
    (table,) = [b for b in card.sections[0].blocks if b.kind == "table"]
    assert table.rows[0][0] == str(audit["participants"][0]["id"])
    assert f"of attribution inside: {number(audit['mean_share_inside'])}" in table.text


def test_findings_name_each_split_where_a_shortcut_does_as_well():
    def row(speakers, name, auroc, prone):
        return {"speakers": speakers, "name": name, "auroc": auroc, "shortcut_prone": prone}

    audit = {
        "splits": {
            "dev": {
                "rows": [row("participant", "P", 0.80, False), row("interviewer", "I", 0.70, True)]
            },
            "test": {
                "rows": [
                    row("participant", "P", 0.80, False),
                    row("interviewer", "I", 0.78, True),
                    row(None, LENGTH_BASELINE, 0.90, False),
                ]
            },
        }
    }
    findings = audit_findings(audit)
    assert len(findings) == 2 and all(f.startswith("test split: ") for f in findings)
    assert "interviewer's words carry the label" in findings[0]
    assert "number of words alone" in findings[1]


def test_the_paired_difference_resamples_both_models_on_the_same_participants():
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 20)
    good = Predictions(np.arange(40), labels, labels * 0.6 + rng.random(40) * 0.4)
    coin = Predictions(np.arange(40), labels, rng.random(40))
    assert paired_auroc_difference(good, good, 200) == (0.0, [0.0, 0.0])
    value, (lo, hi) = paired_auroc_difference(coin, good, 200)
    assert value < 0 and lo <= value <= hi < 0  # clearly worse, and the interval says so
    with pytest.raises(ValueError, match="same participants"):
        paired_auroc_difference(coin.subset(range(39, -1, -1)), good, 10)
