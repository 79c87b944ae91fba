"""One cleaned text document per participant, for the TF-IDF + Random Forest model.

By default a document holds the **participant's** words only. Ellie's prompts leak the
label (the interviewer's follow-ups depend on the answers, and so on the participant's
state), so the ``"interviewer"`` and ``"both"`` variants are opt-in and labelled
shortcut-prone in :data:`SPEAKER_CHOICES`, for the UI to show.

Cleaning removes transcription markers (``<sync>``, ``<laughter>`` and any ``<...>``;
``[laughter]`` and any ``[...]``; ``scrubbed_entry``; ``xxx`` for unintelligible speech),
lower-cases, and collapses whitespace. Lines are joined in transcript order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from core.data import formats
from core.data.corpus import Corpus

SPEAKER_CHOICES: dict[str, dict] = {
    "participant": {
        "label": "Participant only (default)",
        "shortcut_prone": False,
        "note": "Only what the participant said.",
    },
    "interviewer": {
        "label": "Interviewer only (shortcut-prone)",
        "shortcut_prone": True,
        "note": (
            "Ellie's prompts leak the label: her follow-up questions react to the "
            "participant's state, so a model can score well without reading the "
            "participant at all."
        ),
    },
    "both": {
        "label": "Participant and interviewer (shortcut-prone)",
        "shortcut_prone": True,
        "note": (
            "Includes Ellie's prompts, which leak the label; scores are not comparable "
            "with participant-only text."
        ),
    },
}
"""Speaker variants, with a UI label, whether they are shortcut-prone, and why."""

DEFAULT_SPEAKERS = "participant"

_MARKERS = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\bscrubbed_entry\b|\bxxx\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_WHO = {
    "participant": (formats.PARTICIPANT,),
    "interviewer": (formats.INTERVIEWER,),
    "both": (formats.PARTICIPANT, formats.INTERVIEWER),
}


def clean(text: str) -> str:
    """Remove transcription markers, lower-case and collapse whitespace.

    Examples
    --------
    >>> clean("<sync> I'm [laughter] FINE  xxx scrubbed_entry")
    "i'm fine"
    """
    return _SPACE.sub(" ", _MARKERS.sub(" ", text)).strip().lower()


def _check(speakers: str) -> None:
    if speakers not in SPEAKER_CHOICES:
        raise ValueError(f"speakers={speakers!r}: choose one of {tuple(SPEAKER_CHOICES)}")


def kept_lines(transcript: pd.DataFrame, speakers: str = DEFAULT_SPEAKERS) -> pd.DataFrame:
    """The transcript rows whose speaker a document with ``speakers`` keeps, in order.

    Raises
    ------
    ValueError
        An unknown ``speakers`` value.
    """
    _check(speakers)
    return transcript[transcript["speaker"].isin(_WHO[speakers])]


def participant_document(transcript: pd.DataFrame, speakers: str = DEFAULT_SPEAKERS) -> str:
    """The cleaned text of one transcript as a single document.

    Parameters
    ----------
    transcript : pandas.DataFrame
        As returned by :meth:`~core.data.corpus.Corpus.transcript` (columns
        ``start_time``, ``stop_time``, ``speaker``, ``value``).
    speakers : {"participant", "interviewer", "both"}, default "participant"
        Whose lines to keep; the last two are shortcut-prone (see
        :data:`SPEAKER_CHOICES`).

    Returns
    -------
    str
        The kept lines in order, cleaned and joined by single spaces (may be empty).

    Raises
    ------
    ValueError
        An unknown ``speakers`` value.
    """
    kept = kept_lines(transcript, speakers)
    return clean(" ".join(kept["value"].astype(str)))


def documents(corpus: Corpus, ids: Sequence[int], speakers: str = DEFAULT_SPEAKERS) -> list[str]:
    """One document per participant, in the order of ``ids``.

    Parameters
    ----------
    corpus : Corpus
        The corpus.
    ids : sequence of int
        Participant IDs (typically ``corpus.ids(split, "text", labelled=True)``).
    speakers : {"participant", "interviewer", "both"}, default "participant"
        Whose lines to keep.

    Returns
    -------
    list of str

    Raises
    ------
    DataError
        A participant's transcript is missing or unreadable (the message names it).
    ValueError
        An unknown ``speakers`` value.
    """
    _check(speakers)
    return [participant_document(corpus.transcript(pid), speakers) for pid in ids]
