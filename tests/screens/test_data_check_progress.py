"""The Data page's problems: "No problems found" only once every session file was read."""

from __future__ import annotations

from core.data import Corpus
from core.data.overview import problem_rows
from tests.screens.apptest import open_page


class Halfway(Exception):
    """Raised by the stand-in check once it has read 12 of 60 sessions: the page is looked at."""


def shown(at) -> list[str]:
    """The text of every message and caption on the page."""
    return [e.value for kind in ("info", "success", "caption", "warning") for e in at.get(kind)]


def test_the_full_check_says_so_far_until_it_has_read_everything(small_corpus, monkeypatch):
    import core.data.check

    def halfway(root, progress=None, workers=1, found=None):
        if found is not None:
            found(900, [])  # one session read, no problem in it
        progress(12, 60)
        raise Halfway("the page is looked at here")

    at = open_page("data", small_corpus)
    monkeypatch.setattr(core.data.check, "check_corpus", halfway)
    at.button(key="data_run_check").click().run()
    assert [p.proto.text for p in at.get("progress")] == ["Checked 12 of 60 sessions"]
    texts = shown(at)
    assert any("found so far (12 of 60 sessions read)" in t for t in texts), texts
    assert not any(t.startswith("No problems found.") for t in texts)


def test_the_quick_view_says_so_far_and_the_complete_check_says_so(small_corpus, monkeypatch):
    import core.data.check

    corpus = Corpus(small_corpus)
    quick = problem_rows(corpus.problems, corpus.table().to_dict("records"))
    at = open_page("data", small_corpus)
    texts = shown(at)
    assert "No problems found." not in texts  # no session file has been read yet
    if quick.empty:
        assert any(t.startswith("No problems found so far") for t in texts), texts

    def complete(root, progress=None, workers=1, found=None):
        progress(60, 60)
        return {"root": str(root), "usable": True, "participants": [], "splits": {}, "problems": []}

    monkeypatch.setattr(core.data.check, "check_corpus", complete)
    at.button(key="data_run_check").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "No problems found: every session file was read; the corpus is usable."
    ]


def test_the_words_while_checking():
    from ui.data_check import check_progress_text

    assert check_progress_text(3, 10, 0).startswith("No problems found so far (3 of 10")
    assert check_progress_text(3, 10, 2).startswith("2 problems found so far (3 of 10")
    assert check_progress_text(3, 10, 1).startswith("1 problem found so far")
