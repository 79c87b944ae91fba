"""``python -m core.report``: where the card may go, and what of this machine it shows."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.report.__main__ import main as report_main

QUICK = ["--no-audit-training", "--subgroup-boot", "10", "--n-boot", "20"]


def test_a_card_into_a_missing_folder_is_refused(report_text_run, tmp_path, capsys):
    out = tmp_path / "nonexistent" / "dir" / "card.html"
    assert report_main([str(report_text_run), "--out", str(out), *QUICK]) == 2
    err = capsys.readouterr().err
    assert f"{out.parent} does not exist" in err
    assert not out.parent.exists() and not out.parent.parent.exists()


def test_the_card_shows_no_absolute_local_path(report_text_run, small_corpus, tmp_path, capsys):
    run_dir = tmp_path / "runs" / "text-copy"
    shutil.copytree(report_text_run, run_dir)
    out = tmp_path / "card.html"
    assert report_main([str(run_dir), "--out", str(out), *QUICK]) == 0
    page = out.read_text(encoding="utf-8")
    assert "text-copy" in page and small_corpus.name in page
    for local in (tmp_path, Path(small_corpus), Path(small_corpus).parent):
        assert str(local) not in page
