"""One self-contained HTML file of a model card: opens offline, requests nothing.

Plotly's JavaScript is embedded once (:func:`plotly.offline.get_plotlyjs`) and each
figure is a ``div`` with its own small script; no stylesheet, font, image or script is
fetched from anywhere. Every text from the card is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from pathlib import Path

from plotly.offline import get_plotlyjs

from core.report.card import Block, Card
from core.runs import folder

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
p.subtitle { color: #666; margin-top: 0; }
p.warning { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 0.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: 0.3em; }
nav ol { columns: 2; }
figure { margin: 1em 0; }
figcaption { color: #555; font-size: 0.9em; }
"""
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(block: Block) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in block.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in block.rows
    )
    caption = f"<caption>{_e(block.text)}</caption>" if block.text else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _block(block: Block) -> str:
    if block.kind == "warning":
        return f'<p class="warning">{_e(block.text)}</p>'
    if block.kind == "table":
        return _table(block)
    if block.kind == "list":
        return "<ul>" + "".join(f"<li>{_e(row[0])}</li>" for row in block.rows) + "</ul>"
    if block.kind == "figure" and block.figure is not None:
        div = block.figure.to_html(full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG)
        caption = f"<figcaption>{_e(block.text)}</figcaption>" if block.text else ""
        return f'<figure class="chart">{div}{caption}</figure>'
    return f"<p>{_e(block.text)}</p>"


def render_html(card: Card) -> str:
    """The card as one HTML document (Plotly's JavaScript inside it, nothing fetched)."""
    nav = "".join(
        f'<li><a href="#section-{k}">{_e(s.title)}</a></li>' for k, s in enumerate(card.sections)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(card.title)}</title><style>{STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>{_e(card.title)}</h1>",
        f'<p class="subtitle">{_e(card.subtitle)}</p>',
        f"<nav><ol>{nav}</ol></nav>",
    ]
    for k, section in enumerate(card.sections):
        parts.append(f'<section id="section-{k}"><h2>{_e(section.title)}</h2>')
        parts += [_block(block) for block in section.blocks]
        parts.append("</section>")
    parts.append(f'<p class="subtitle">Built in {card.build_seconds:.1f} s.</p></body></html>')
    return "\n".join(parts)


def write_html(card: Card, path: str | Path) -> Path:
    """Write the card's HTML file atomically; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(card)
    folder.atomic_write(path, lambda handle: handle.write(text))
    return path
