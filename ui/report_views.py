"""Show a model card (:class:`core.report.Card`) with Streamlit's own elements.

The screen shows the same blocks as the HTML file. Text from the card is shown as text:
Markdown characters are escaped, and Streamlit never renders HTML in Markdown here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.report import Block, Card
from ui.common import MISSING, escape_markdown


def plain(text: str) -> str:
    """``text`` with every Markdown character escaped, so it shows as written."""
    return escape_markdown(text)


def _table(block: Block) -> None:
    columns = [c or " " * (k + 1) for k, c in enumerate(block.columns)]  # unique headers
    if block.text:
        st.caption(plain(block.text))
    st.dataframe(pd.DataFrame(block.rows, columns=columns), hide_index=True, placeholder=MISSING)


def show_block(block: Block, key: str) -> None:
    """One block: a paragraph, a warning, a bulleted list, a table or a figure."""
    if block.kind == "warning":
        st.warning(plain(block.text))
    elif block.kind == "list":
        st.markdown("\n".join(f"- {plain(row[0])}" for row in block.rows))
    elif block.kind == "table":
        _table(block)
    elif block.kind == "figure" and block.figure is not None:
        st.plotly_chart(block.figure, key=key, config={"displaylogo": False})
        if block.text:
            st.caption(plain(block.text))
    else:
        st.markdown(plain(block.text))


def show_card(card: Card) -> None:
    """Every section of the card, in order, each under its own heading."""
    for s, section in enumerate(card.sections):
        st.header(section.title, divider="gray")
        for b, block in enumerate(section.blocks):
            show_block(block, key=f"report_figure_{s}_{b}")
