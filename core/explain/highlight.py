"""Where the text model's n-grams occur in a transcript, as the vectorizer counts them.

:func:`highlight_spans` matches n-grams exactly as the fitted vectorizer counts them (its
preprocessor, token pattern and stop words, with stop words removed *before* n-grams are
formed, so "feel tired" is found in "feel so tired"); :func:`transcript_highlights` applies
that to each kept line of a transcript. This is hand-written because scikit-learn's
vectorizer counts n-grams but never reports where in the text they were.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from core.data.text import DEFAULT_SPEAKERS, clean, kept_lines
from core.explain.text import as_vectorizer

Span = tuple[int, int, str]
"""``(start, end, term)``: ``text[start:end]`` runs from the term's first token to its last."""


# --- highlights ------------------------------------------------------------------------


def _preprocessed(text: str, preprocess: Callable[[str], str]) -> tuple[str, list[int], list[int]]:
    """``preprocess(text)`` and, per character of it, the original start and end offsets.

    Lower-casing keeps the length, so offsets are usually the identity. Otherwise (e.g.
    accent stripping of decomposed characters) each character is preprocessed on its own,
    and a character that yields nothing (a stripped accent) extends the one before it.
    """
    processed = preprocess(text)
    if len(processed) == len(text):
        starts = list(range(len(text)))
        return processed, starts, [i + 1 for i in starts]
    pieces: list[str] = []
    ends: list[int] = []
    starts = []
    for i, char in enumerate(text):
        piece = preprocess(char)
        if not piece and ends and ends[-1] == i:
            ends[-1] = i + 1
        pieces.append(piece)
        starts += [i] * len(piece)
        ends += [i + 1] * len(piece)
    return "".join(pieces), starts, ends


def _tokens(text: str, vectorizer: TfidfVectorizer) -> list[tuple[str, int, int]]:
    """The vectorizer's non-stop-word tokens of ``text`` with their offsets in ``text``."""
    processed, starts, ends = _preprocessed(text, vectorizer.build_preprocessor())
    pattern = re.compile(vectorizer.token_pattern)
    group = 1 if pattern.groups == 1 else 0  # sklearn's findall keeps a single group
    stop_words = vectorizer.get_stop_words() or frozenset()
    tokens = []
    for match in pattern.finditer(processed):
        token = match.group(group)
        if token and token not in stop_words:
            start, end = match.span(group)
            tokens.append((token, starts[start], ends[end - 1]))
    return tokens


def highlight_spans(
    text: str, terms: Iterable[str], vectorizer: TfidfVectorizer | Pipeline
) -> list[Span]:
    """Where each n-gram of ``terms`` occurs in ``text``, as the vectorizer would count it.

    The text goes through the vectorizer's own preprocessor (lower-casing), token pattern
    and stop-word list; stop words are dropped *before* n-grams are formed, exactly as
    scikit-learn does, so the bigram ``"feel tired"`` matches "feel so tired". Tokens are
    whole matches of the token pattern, so ``"sad"`` never matches inside "saddle".

    Parameters
    ----------
    text : str
        Any text; offsets refer to it as given.
    terms : iterable of str
        Unigrams or n-grams, tokens separated by single spaces (the vocabulary's spelling;
        they are lower-cased like the text). A term containing a stop word never matches.
    vectorizer : TfidfVectorizer or sklearn.pipeline.Pipeline
        The fitted vectorizer, or the text pipeline holding it as ``tfidf``.

    Returns
    -------
    list of (int, int, str)
        ``(start, end, term)`` with ``text[start:end]`` running from the first token's
        start to the last token's end, sorted by start, then end, then term. Overlapping
        spans (a bigram and its unigrams, or two bigrams sharing a token) are all kept, one
        per term occurrence; merging them for display is left to the caller.

    Raises
    ------
    ValueError
        The vectorizer does not tokenize with a token pattern (custom analyzer or
        tokenizer).
    """
    vectorizer = as_vectorizer(vectorizer)
    preprocess = vectorizer.build_preprocessor()
    wanted: dict[tuple[str, ...], list[str]] = {}
    for term in dict.fromkeys(terms):
        key = tuple(preprocess(term).split())
        if key:
            wanted.setdefault(key, []).append(term)
    tokens = _tokens(text, vectorizer)
    words = [token for token, _, _ in tokens]
    spans = []
    for n in sorted({len(key) for key in wanted}):
        for i in range(len(tokens) - n + 1):
            for term in wanted.get(tuple(words[i : i + n]), ()):
                spans.append((tokens[i][1], tokens[i + n - 1][2], term))
    return sorted(spans)


def transcript_highlights(
    transcript: pd.DataFrame,
    vectorizer: TfidfVectorizer | Pipeline,
    terms: Iterable[str],
    speakers: str = DEFAULT_SPEAKERS,
) -> list[dict]:
    """Transcript lines that make up a participant's document, with term spans.

    Lines are kept as :func:`core.data.text.participant_document` keeps them (same speaker
    filter) and cleaned with the same :func:`core.data.text.clean`, one line at a time:
    cleaning removes markers and collapses spaces, so spans refer to the *cleaned* line,
    which is returned. Lines left empty by cleaning are dropped. An n-gram that the
    document forms across two lines (the document joins them with a space) is not
    highlighted, since it belongs to neither line alone.

    Parameters
    ----------
    transcript : pandas.DataFrame
        As returned by :meth:`~core.data.corpus.Corpus.transcript` (columns
        ``start_time``, ``speaker``, ``value``, ...).
    vectorizer : TfidfVectorizer or sklearn.pipeline.Pipeline
        The fitted vectorizer, or the text pipeline holding it as ``tfidf``.
    terms : iterable of str
        N-grams to find (see :func:`highlight_spans`).
    speakers : {"participant", "interviewer", "both"}, default "participant"
        Whose lines the document holds (see :data:`core.data.text.SPEAKER_CHOICES`).

    Returns
    -------
    list of dict
        In transcript order, one per kept line: ``start_time`` (float, seconds),
        ``speaker``, ``text`` (the cleaned line) and ``spans`` (as from
        :func:`highlight_spans`, offsets into ``text``).

    Raises
    ------
    ValueError
        An unknown ``speakers`` value, or a vectorizer :func:`highlight_spans` refuses.
    """
    kept = kept_lines(transcript, speakers)
    vectorizer = as_vectorizer(vectorizer)
    terms = list(dict.fromkeys(terms))
    lines = []
    for start, speaker, value in zip(
        kept["start_time"], kept["speaker"], kept["value"].astype(str), strict=True
    ):
        text = clean(value)
        if text:
            spans = highlight_spans(text, terms, vectorizer)
            lines.append(
                {"start_time": float(start), "speaker": speaker, "text": text, "spans": spans}
            )
    return lines
