"""Predict never shows a fusion score once a source run changed, not even a cached one."""

from __future__ import annotations

import os

from core.data import Corpus
from core.runs import folder
from core.training.checkpoint import load_checkpoint, save_checkpoint
from tests.screens.apptest import open_page


def test_a_fusion_whose_source_was_retrained_is_not_shown_even_from_the_cache(
    planted_corpus, trained_root, trained_runs
):
    pid = Corpus(planted_corpus).ids("dev", labelled=True)[1]
    at = open_page("predict", planted_corpus, predict_pid=pid)
    assert {m.label: m.value for m in at.metric}["Fusion"] != "—"  # scored, and cached

    best = trained_runs["audio"] / folder.BEST
    original, stat = best.read_bytes(), best.stat()
    checkpoint = load_checkpoint(best)
    weights = checkpoint["model_state_dict"]
    name = next(iter(weights))
    weights[name] = weights[name] + 0.5  # the source as if retrained
    save_checkpoint(best, checkpoint)
    try:
        at = open_page("predict", planted_corpus, predict_pid=pid)
    finally:
        best.write_bytes(original)
        os.utime(best, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert {m.label: m.value for m in at.metric}["Fusion"] == "—"
    why = "was trained with other versions of its source runs: the audio run audio was"
    shown = [e.value for e in at.error] + [t.value for t in at.text]  # a message, or its text
    assert any(why in value for value in shown), shown
