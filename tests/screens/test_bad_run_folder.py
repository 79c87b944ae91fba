"""One run folder that cannot be read never breaks a page: every other run still works."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.runs import folder
from tests.screens.apptest import open_page

BAD = {
    "broken_config": "config.json: is not valid JSON",
    "audio_no_baselines": "evaluation.json: splits.dev.report: baselines is missing",
    "text_low_loss": "metrics.jsonl line 2: val_loss is 'low'",
    "face_yesterday": "status.json: started is 'yesterday'",
}


@pytest.fixture
def mixed_root(trained_runs, tmp_path, monkeypatch) -> Path:
    """The session's trained runs, and beside them copies of real runs, each spoilt once."""
    root = tmp_path / "runs"
    shutil.copytree(trained_runs["audio"].parent, root)
    (root / "broken_config").mkdir()
    (root / "broken_config" / folder.CONFIG).write_text('{"modality": "audio", "trai')
    for name, source in (("audio_no_baselines", "audio"), ("text_low_loss", "text")):
        shutil.copytree(trained_runs[source], root / name)
    shutil.copytree(trained_runs["face"], root / "face_yesterday")
    evaluation = folder.read_json(root / "audio_no_baselines" / folder.EVALUATION)
    del evaluation["splits"]["dev"]["report"]["baselines"]
    folder.write_json_atomic(root / "audio_no_baselines" / folder.EVALUATION, evaluation)
    records = folder.read_metrics(root / "text_low_loss")
    records.append({**records[0], "epoch": 2, "val_loss": "low"})
    metrics = "".join(json.dumps(r) + "\n" for r in records)
    (root / "text_low_loss" / folder.METRICS).write_text(metrics)
    status = folder.read_json(root / "face_yesterday" / folder.STATUS)
    folder.write_json_atomic(
        root / "face_yesterday" / folder.STATUS, {**status, "started": "yesterday"}
    )
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(root))
    return root


def test_runs_page_lists_bad_folders_as_unreadable_and_shows_the_others(planted_corpus, mixed_root):
    at = open_page("runs", planted_corpus)
    table = at.dataframe(key="runs_table").value.set_index("run")
    for name, reason in BAD.items():
        assert table.loc[name, "status"] == "unreadable" and table.loc[name, "reason"].startswith(
            reason
        )
    assert table.loc["audio", "status"] in ("completed", "early-stopped")
    assert table.loc["audio", "macro_f1"] == table.loc["audio", "macro_f1"]  # a number, not NaN
    for name in BAD:  # each bad one up close: its reason, no traceback
        at.selectbox(key="runs_inspect").set_value(name).run()
        assert not at.exception, at.exception
        assert any(BAD[name] in caption.value for caption in at.caption)


@pytest.mark.parametrize("page", ["train", "explain", "predict"])
def test_other_pages_work_with_bad_folders_among_good_ones(planted_corpus, mixed_root, page):
    at = open_page(page, planted_corpus)
    assert not at.error, [e.value for e in at.error]
    chosen = [s.value for s in at.selectbox if isinstance(s.value, str)]
    assert not [v for v in chosen if Path(v).name in BAD]  # nothing picks an unreadable run
