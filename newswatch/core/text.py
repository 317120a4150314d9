"""HTML to plain text: what the poller stores of an item and what ``rules test --url`` classifies."""

from __future__ import annotations

import html

from selectolax.lexbor import LexborHTMLParser


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, entities decoded and whitespace collapsed."""
    if not markup:
        return ""
    if "<" not in markup:
        return " ".join(html.unescape(markup).split())
    tree = LexborHTMLParser(markup)
    for node in tree.css("script, style"):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(separator=" ") if root is not None else ""
    return " ".join(text.split())
