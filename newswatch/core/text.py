"""Text that came from the web, made safe to store: HTML to plain text (what the poller stores of an item and what
``rules test --url`` classifies), control characters and lone surrogates out, sizes capped in bytes."""

from __future__ import annotations

import html
import re

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


# C0 and C1 control characters other than the whitespace that text collapses anyway: ESC, BEL and OSC sequences
# in a title retitle or clear a terminal, and JSON spells each as six bytes.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATES = re.compile("[\ud800-\udfff]")  # not encodable as UTF-8: the producer would raise on them


def clean(text: str) -> str:
    """``text`` without control characters, and with lone surrogates replaced by U+FFFD."""
    return SURROGATES.sub("\ufffd", CONTROL_CHARS.sub("", text))


def cap_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    if len(text) * 4 <= limit:  # no character takes more than four bytes
        return text
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore")
