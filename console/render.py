"""HTML from alerts: a Jinja2 environment that escapes everything, and the few filters the templates use.

Every string in an alert came from a feed. Autoescape is on for every template; text is first made inert the way
the terminal tools make it (control characters shown as U+FFFD, bidi overrides dropped, newswatch.core.console);
links are kept only when they are absolute http(s) URLs; highlighting builds its markup from escaped pieces.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from newswatch.core.console import terminal_safe

MAX_URL = 4096


def safe_url(link: Any) -> str | None:
    """``link`` when it is an absolute http(s) URL without spaces or control characters, else None.

    ``javascript:`` and ``data:`` links would run in the console's origin; anything else is shown as no link.
    """
    if not isinstance(link, str) or not link or len(link) > MAX_URL:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    return link if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def text(value: Any) -> str:
    """Feed text made inert for display (escaping is autoescape's job): control characters visible, no bidi."""
    return "" if value is None else terminal_safe(value)


def highlight(snippet: Any, terms: list[str], actors: list[str]) -> Markup:
    """``snippet`` escaped, with ``terms`` in ``<mark>`` and ``actors`` in ``<mark class="actor">`` (case-blind).

    Markup is built only around escaped slices of the text, so nothing in the snippet becomes a tag.
    """
    plain = text(snippet)
    spans: list[tuple[int, int, str]] = []
    for words, kind in ((terms, "term"), (actors, "actor")):
        for word in sorted({w for w in words if w and w.strip()}, key=len, reverse=True):
            for found in re.finditer(re.escape(word), plain, re.IGNORECASE):
                if not any(s < found.end() and found.start() < e for s, e, _ in spans):  # no overlaps
                    spans.append((found.start(), found.end(), kind))
    out, at = [], 0
    for start, end, kind in sorted(spans):
        out.append(escape(plain[at:start]))
        out.append(Markup('<mark class="{}">{}</mark>').format(kind, plain[start:end]))
        at = end
    out.append(escape(plain[at:]))
    return Markup("").join(out)


def environment(templates: Path | None = None) -> Environment:
    """The console's Jinja2 environment: its templates, autoescape on for all of them, the filters above."""
    folder = templates or Path(str(files("newswatch.console").joinpath("templates")))
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(text=text, safe_url=safe_url, highlight=highlight)
    return env
