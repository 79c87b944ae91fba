"""Cached reading for the Data page: plain arguments only, never a widget.

Each session file is read once per corpus version (``stamp``); a file that cannot be
read gives a message naming it instead of an exception, so one damaged file never takes
the page down.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.data import Corpus, DataError
from core.data.overview import audio_tracks, face_tracks
from ui.common import open_corpus


@st.cache_data(show_spinner=False)
def participant_table(root: str, stamp: float) -> pd.DataFrame:
    """One row per participant, from the corpus index."""
    return open_corpus(root, stamp).table()


def _read(
    root: str, stamp: float, pid: int, kind: str, convert: Callable[[Corpus], pd.DataFrame]
) -> tuple[pd.DataFrame | None, str | None]:
    """``(value, None)`` or ``(None, message naming the file)`` for one session file."""
    corpus = open_corpus(root, stamp)
    try:
        return convert(corpus), None
    except DataError as error:
        return None, str(error)
    except Exception as error:  # a reader bug must not take the page down
        name = corpus.source(pid).display(kind)
        return None, f"{name}: could not be read ({type(error).__name__}: {error})"


@st.cache_data(show_spinner="Reading the transcript", max_entries=64)
def session_transcript(root: str, stamp: float, pid: int) -> tuple[pd.DataFrame | None, str | None]:
    """The participant's transcript (or the error naming the file)."""
    return _read(root, stamp, pid, "transcript", lambda c: c.transcript(pid))


@st.cache_data(show_spinner="Reading COVAREP features", max_entries=64)
def session_audio(root: str, stamp: float, pid: int) -> tuple[pd.DataFrame | None, str | None]:
    """COVAREP resampled for display (or the error naming the file)."""
    return _read(root, stamp, pid, "covarep", lambda c: audio_tracks(c.covarep(pid)))


@st.cache_data(show_spinner="Reading facial action units", max_entries=64)
def session_face(root: str, stamp: float, pid: int) -> tuple[pd.DataFrame | None, str | None]:
    """CLNF action units resampled for display (or the error naming the file)."""
    return _read(root, stamp, pid, "aus", lambda c: face_tracks(c.clnf(pid, "aus")))


@st.cache_resource(show_spinner=False)
def check_reports() -> dict[tuple[str, float], dict]:
    """Full-check reports by ``(root, stamp)``, kept for every session of this server.

    A store rather than an ``st.cache_data`` function, because the check reports its
    progress to a bar on the page, which a cached function must not touch.
    """
    return {}
