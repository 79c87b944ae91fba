"""UI helpers shared by every page: data source, corpus, uploads, data text as text."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.data import Corpus, DataError, sample, storage
from core.data.upload import UploadFolder, server_uploads_folder
from core.runs import folder  # noqa: E402
from ui.sample_banner import sample_banner

SAMPLE_LABEL = "Bundled synthetic sample"
FOLDER_LABEL = "DAIC-WOZ folder on this machine"
CORPUS = "sidebar_corpus"  # session state: the corpus the sidebar opened (or None)
CORPUS_PROBLEM = "sidebar_corpus_problem"  # session state: why the typed folder did not open
MISSING = "-"
"""What tables show for a missing value (``st.dataframe(..., placeholder=MISSING)``)."""
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown character escaped, so it shows as written."""
    return _MARKDOWN.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def open_corpus(root: str, stamp: float) -> Corpus:
    """Open (index) a corpus; ``stamp`` changes when the root folder changes."""
    return Corpus(root)


def corpus_stamp(root: Path) -> float:
    """A cheap change marker for a corpus root (its own and its label files' mtimes)."""
    stamps = [root.stat().st_mtime]
    stamps += [p.stat().st_mtime for p in root.glob("*.csv")]
    return max(stamps)


class SampleJob:
    """Generates the bundled sample in a background thread, once for every browser session.

    One object per sample folder is shared by all sessions of the server
    (:func:`sample_job`); :meth:`start` does nothing while a generation runs or once the
    sample is complete, so a second tab never starts a second one. Another server process
    generating the same folder is waited for by :func:`core.data.sample.ensure_sample`'s
    file lock.

    Parameters
    ----------
    root : pathlib.Path
        The sample's corpus root.

    Attributes
    ----------
    done, total : int
        Sessions written so far, out of how many.
    error : str or None
        Why the last generation failed (type and message), or None.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done = 0
        self.total = int(sample.SAMPLE_SETTINGS["participants"])
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether a generation is under way."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, retry: bool = False) -> None:
        """Start generating unless it is running, complete, or failed (then only on ``retry``)."""
        with self._guard:
            if self.running or sample.sample_ready(self.root) or (self.error and not retry):
                return
            self.done, self.error = 0, None
            self._thread = threading.Thread(target=self._run, name="sample-generation", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current generation ends (for tests and scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _run(self) -> None:
        try:
            sample.ensure_sample(self.root, progress=self._progress)
        except Exception as error:  # noqa: BLE001 - shown on the page, with a retry button
            self.error = f"{type(error).__name__}: {error}"


@st.cache_resource(show_spinner=False)
def sample_job(root: str) -> SampleJob:
    """The one :class:`SampleJob` of this server for the sample at ``root``."""
    return SampleJob(Path(root))


@st.fragment(run_every=1.0)
def sample_progress_ui(job: SampleJob) -> None:
    """The note and progress bar, redrawn each second; the whole app reruns when done."""
    if not job.running:
        stored_summary.clear()
        st.rerun()  # ready (or failed): draw every page element again
    st.info(sample_banner(job.done, job.total))
    st.progress(
        job.done / max(job.total, 1),
        text=f"Generating the synthetic sample: {job.done}/{job.total} sessions "
        "(first start only; it is kept for the next start)",
    )


def ensure_sample_ui() -> Path | None:
    """The bundled sample's root, or None while it is being generated in the background.

    The first call starts the generation (:class:`SampleJob`) and returns at once; the
    caller shows :func:`sample_status_ui` in the page meanwhile.
    """
    root = sample.sample_root()
    if sample.sample_ready(root):
        return root
    sample_job(str(root)).start()
    return None


def sample_status_ui() -> None:
    """The main area's note while the sample is generated: progress, or the error and a retry."""
    job = sample_job(str(sample.sample_root()))
    if job.error:
        st.error(
            f"Generating the synthetic sample failed: {job.error}. Check that "
            f"`{job.root.parent}` is writable with about 200 MB free (or point "
            f"`{storage.SAMPLE_ENV}` to another folder), then try again."
        )
        if st.button("Try again", key="sample_retry"):
            job.start(retry=True)
            st.rerun()
        return
    sample_progress_ui(job)


@st.cache_data(ttl=60, show_spinner=False)
def stored_summary() -> list[tuple[str, str, int]]:
    """``(label, folder, bytes)`` of what the app keeps on disk (rescanned each minute)."""
    return [(item.label, str(item.folder), item.bytes) for item in storage.stored()]


def storage_ui() -> None:
    """Sidebar: where the sample and frame cache live, their size, and how to clear them."""
    items = stored_summary()
    total = storage.human_size(sum(size for _, _, size in items))
    with st.expander(f"Sample and cache: {total}"):
        for label, place, size in items:
            st.caption(f"{label.capitalize()}: `{place}` ({storage.human_size(size)})")
        st.caption(
            "Clear them with `python -m core.data clear-cache` (the sample is generated "
            f"again when needed). Move them with `{storage.SAMPLE_ENV}` and "
            f"`{storage.CACHE_ENV}`."
        )


def _chosen_root(choice: str) -> Path | None:
    """The corpus root the sidebar's choice names, or None (still generating, or no folder)."""
    if choice == SAMPLE_LABEL:
        return ensure_sample_ui()
    typed = st.text_input("Corpus folder", key="data_folder", placeholder="/data/daic-woz")
    if not typed:
        st.info("Type the folder that holds the sessions and split files.")
        return None
    return Path(typed).expanduser()


def text_alert(alert: Callable[[str], Any], words: str, text: str) -> None:
    """A message in our own words, then text that came from data files, shown as text.

    File and member names, headers, speakers and transcript lines can hold anything,
    Markdown included: a member named ``[x](http://...)`` would render as a link, and
    ``![x](http://...)`` as an image the browser fetches. So ``words`` (ours) go through
    ``alert`` (``st.error``, ``st.warning``, ...), which renders Markdown, and ``text``
    through ``st.text``, which renders none.

    Parameters
    ----------
    alert : callable
        ``st.error``, ``st.warning``, ``st.info``, ``st.success`` or ``st.caption``.
    words : str
        What the message says, in the app's words.
    text : str
        The part that comes from data files (an error naming a file, a member name).
    """
    alert(words)
    st.text(text)


@st.cache_resource(show_spinner=False)
def uploads_folder() -> Path:
    """The server's folder for uploads (:func:`core.data.upload.server_uploads_folder`).

    Created at the first page a browser opens, which also removes the folders a killed
    server left behind; removed when the server exits.
    """
    return server_uploads_folder()


class UploadSweeper:
    """Removes the upload folders of browser sessions that have ended.

    A session that disconnects may come back (a dropped connection) for
    ``server.disconnectedSessionTTL`` seconds; a session inactive for longer has ended,
    and its folders are removed at the next :meth:`sweep`.

    Parameters
    ----------
    is_active : callable
        ``session_id -> bool``: whether the session is connected now.
    grace_s : float
        How long a session may be inactive before it counts as ended.
    """

    def __init__(self, is_active: Callable[[str], bool], grace_s: float) -> None:
        self.is_active = is_active
        self.grace_s = grace_s
        self._folders: dict[str, list[weakref.ref[UploadFolder]]] = {}
        self._inactive_since: dict[str, float] = {}
        self._guard = threading.Lock()

    def track(self, session_id: str, folder: UploadFolder) -> None:
        """Remove ``folder`` once the session ``session_id`` has ended.

        Only a weak reference is kept: a folder whose session state is released first is
        removed by its own finaliser.
        """
        with self._guard:
            self._folders.setdefault(session_id, []).append(weakref.ref(folder))

    def sweep(self, now: float) -> list[Path]:
        """Remove the folders of sessions inactive for longer than the grace period.

        Parameters
        ----------
        now : float
            The time (``time.monotonic()``).

        Returns
        -------
        list of pathlib.Path
            The folders removed.
        """
        removed = []
        with self._guard:
            for session_id in list(self._folders):
                if self.is_active(session_id):
                    self._inactive_since.pop(session_id, None)
                    continue
                since = self._inactive_since.setdefault(session_id, now)
                if now - since >= self.grace_s:
                    for folder in filter(None, (ref() for ref in self._folders.pop(session_id))):
                        folder.remove()
                        removed.append(folder.path)
                    del self._inactive_since[session_id]
        return removed

    def run(self, period_s: float) -> None:
        """Sweep every ``period_s`` seconds, for as long as the server runs."""
        while True:
            time.sleep(period_s)
            self.sweep(time.monotonic())


@st.cache_resource(show_spinner=False)
def upload_sweeper() -> UploadSweeper | None:
    """The server's :class:`UploadSweeper`, sweeping in a thread; None outside a server."""
    if not runtime.exists():  # bare mode: the session state's finaliser only
        return None
    grace = float(st.get_option("server.disconnectedSessionTTL"))
    sweeper = UploadSweeper(runtime.get_instance().is_active_session, grace)
    period = min(10.0, max(grace / 4, 0.5))
    threading.Thread(target=sweeper.run, args=(period,), name="upload-sweeper", daemon=True).start()
    return sweeper


def new_upload_folder() -> UploadFolder:
    """A private folder for one upload, removed when the browser session that holds it ends.

    Keep the returned object in ``st.session_state``. In a server the folder is removed
    once the session has been disconnected for longer than it may come back
    (:class:`UploadSweeper`); in any case when the session's state is released, and the
    folder object with it (:class:`core.data.upload.UploadFolder`).
    """
    folder = UploadFolder(uploads_folder())
    context = get_script_run_ctx()
    if (sweeper := upload_sweeper()) is not None and context is not None:
        sweeper.track(context.session_id, folder)
    return folder


def folder_problem(root: Path) -> str | None:
    """Why ``root`` cannot be a corpus folder, in plain words; None when it is a folder."""
    if root.is_dir():
        return None
    if root.exists():
        return f"{root} is a file, not a folder."
    return f"The folder {root} does not exist."


def problem_count(corpus: Corpus) -> int:
    """How many problems the Data page's table lists for ``corpus`` (its quick view)."""
    from core.data.overview import problem_rows

    return len(problem_rows(corpus.problems, corpus.table().to_dict("records")))


def _open_ui(root: Path) -> Corpus | None:
    """Sidebar: open the corpus at ``root`` and summarise its splits; None on failure.

    A folder that does not exist (or is a file) is said so in one plain sentence that
    names it; the problem count is that of the Data page's table.
    """
    if (problem := folder_problem(root)) is not None:
        st.error(escape_markdown(problem))
        st.session_state[CORPUS_PROBLEM] = problem
        return None
    try:
        corpus = open_corpus(str(root), corpus_stamp(root))
    except (DataError, OSError) as error:
        text_alert(st.error, "Cannot open this corpus:", str(error))
        st.session_state[CORPUS_PROBLEM] = f"The corpus in {root} cannot be opened."
        return None
    splits = corpus.splits()
    st.caption(" · ".join(f"{name} {s['n']} ({s['depressed']} dep.)" for name, s in splits.items()))
    if count := problem_count(corpus):
        noun = "problem" if count == 1 else "problems"
        st.warning(f"{count} {noun} in this corpus: see the Data page.")
    return corpus


def data_source_ui() -> Corpus | None:
    """Sidebar: choose the data source; return the opened corpus or None.

    The corpus is also kept in session state (:data:`CORPUS`) for the page that runs
    next (:func:`page_corpus`). While the bundled sample is being generated this returns
    None at once, the sidebar says so, and the main area shows the progress
    (:func:`sample_status_ui`).
    """
    uploads_folder()  # at a server's first page: clear what a killed server left
    with st.sidebar:
        st.header("Data source")
        choice = st.radio(
            "Corpus",
            [SAMPLE_LABEL, FOLDER_LABEL],
            key="data_source",
            help="The sample is synthetic (IDs from 900). A real corpus must be in the "
            "DAIC-WOZ layout: NNN_P folders or NNN_P.zip archives and the split files.",
        )
        st.session_state[CORPUS_PROBLEM] = None
        root = _chosen_root(choice)
        generating = choice == SAMPLE_LABEL and root is None
        if generating:
            st.caption("The sample is being generated; it opens here when it is ready.")
        corpus = _open_ui(root) if root is not None else None
        storage_ui()
    if generating:
        sample_status_ui()
    st.session_state[CORPUS] = corpus
    return corpus


def runs_root() -> Path:
    """Where run folders live: ``$DAIC_RUNS_ROOT`` if set, else ``checkpoints/``."""
    return folder.runs_root()


def page_corpus() -> Corpus | None:
    """The corpus chosen in the sidebar that ``app.py`` drew before it ran this page.

    Page scripts live in ``screens/``, a folder Streamlit does not discover on its own, so
    every URL (``/``, a bookmarked ``/train``, the first request after a restart) goes
    through ``app.py``'s navigation and sidebar first.
    """
    return st.session_state.get(CORPUS)


def no_corpus_text(purpose: str) -> str:
    """What a page says when no corpus is open: the sidebar's problem, or where to choose one.

    Parameters
    ----------
    purpose : str
        What the corpus is for, ending the sentence: ``"to see what it holds"``.
    """
    problem = st.session_state.get(CORPUS_PROBLEM)
    if problem:
        return f"{escape_markdown(problem)} Type another folder in the sidebar {purpose}."
    return f"Choose a corpus in the sidebar {purpose}."


def page_data_root() -> str | None:
    """The folder of the corpus chosen in the sidebar, or None when none is open."""
    corpus = page_corpus()
    return str(corpus.root) if corpus is not None else None
