"""The model card as plain blocks: what both the HTML file and the Report screen show.

A :class:`Card` is a title and a list of :class:`Section`; each section is a list of
:class:`Block` (a paragraph, a warning, a table or a Plotly figure). Text in a block is
plain text, never markup: the HTML writer escapes it and the screen shows it as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go


@dataclass
class Block:
    """One element of a section.

    Attributes
    ----------
    kind : {"text", "warning", "list", "table", "figure"}
    text : str
        Plain text (the caption of a table or figure).
    columns : list of str
        A table's headers.
    rows : list of list of str
        A table's cells, as text; a list's items, one per row.
    figure : plotly.graph_objects.Figure or None
    """

    kind: str
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    figure: go.Figure | None = None


@dataclass
class Section:
    """A titled part of the card."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str) -> None:
        """Add a paragraph."""
        self.blocks.append(Block("text", text))

    def warning(self, text: str) -> None:
        """Add a warning."""
        self.blocks.append(Block("warning", text))

    def items(self, items: Sequence[str]) -> None:
        """Add a bulleted list, one plain-text item per entry."""
        self.blocks.append(Block("list", rows=[[str(item)] for item in items]))

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = ""
    ) -> None:
        """Add a table; every cell is shown as text (:func:`cell`)."""
        self.blocks.append(
            Block("table", caption, list(columns), [[cell(v) for v in row] for row in rows])
        )

    def figure(self, figure: go.Figure, caption: str = "") -> None:
        """Add a Plotly figure."""
        self.blocks.append(Block("figure", caption, figure=figure))


@dataclass
class Card:
    """A whole report.

    Attributes
    ----------
    title : str
    subtitle : str
    sections : list of Section
    build_seconds : float
        How long building it took.
    """

    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)
    build_seconds: float = 0.0

    def section(self, title: str) -> Section:
        """Start a new section at the end of the card and return it."""
        self.sections.append(Section(title))
        return self.sections[-1]

    @property
    def figures(self) -> list[go.Figure]:
        """Every figure of the card, in order."""
        return [b.figure for s in self.sections for b in s.blocks if b.figure is not None]


def number(value: Any, digits: int = 3) -> str:
    """A number as text; "n/a" for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


MISSING = "-"
"""What a table shows for a value that is not there (never the word "None")."""

VOWEL_SOUNDS = ("a", "e", "i", "o", "u")


def with_article(word: str, capital: bool = False) -> str:
    """``"an audio"``, ``"a face"``, ``"a text"``, ``"an experiment"``: the indefinite article.

    The one place the app picks "a" or "an". It goes by the first letter, which is right
    for the words it is used with (modality, kind and experiment names).

    Parameters
    ----------
    word : str
        The word (or phrase) the article goes before.
    capital : bool, default False
        Start with a capital letter (``"An audio"``), at the start of a sentence.
    """
    article = "an" if word[:1].lower() in VOWEL_SOUNDS else "a"
    return f"{article.capitalize() if capital else article} {word}"


def setting(value: Any) -> str:
    """A setting's value as text; :data:`MISSING` for None (an unset option)."""
    return MISSING if value is None else str(value)


def interval_text(lo: Any, hi: Any, digits: int = 3) -> str:
    """``[0.312, 0.895]``: an interval rounded like the point figures; "n/a" when unknown."""
    if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return "n/a"
    return f"[{number(lo, digits)}, {number(hi, digits)}]"


def with_interval(value: Any, interval: Sequence[Any] | None) -> str:
    """``0.812 [0.61, 0.95]``, or the value alone when the interval is unknown."""
    text = number(value)
    if interval and len(interval) == 2 and None not in interval:
        lo, hi = interval
        if not (math.isnan(lo) or math.isnan(hi)):
            text += f" [{lo:.2f}, {hi:.2f}]"
    return text


def cell(value: Any) -> str:
    """One table cell as text."""
    return value if isinstance(value, str) else number(value)
