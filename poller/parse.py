"""Parse feed bytes with feedparser and decide whether they were a feed at all."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import feedparser
import feedparser.api

from newswatch.poller.safexml import take_refusal

# feedparser rewrites relative links and sanitizes HTML; both are wanted. Its own fetching is never used.
feedparser.RESOLVE_RELATIVE_URIS = True
# Its strict parser is expat refusing entity declarations (poller/safexml.py), whatever the document's encoding.
feedparser.api.PREFERRED_XML_PARSERS = ["newswatch.poller.safexml"]


@dataclass
class ParsedFeed:
    """The entries of a feed, its title and language, or an ``error`` reason when it is not a usable feed."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    language: str | None = None
    error: str | None = None
    detail: str = ""
    bozo: str | None = None  # feedparser's complaint about a feed it could still read


# A declaration that only names one character (``<!ENTITY nbsp "&#160;">``) cannot expand into anything big.
_SAFE_ENTITY = re.compile(rb"""<!ENTITY\s+[\w.:-]+\s+(?:"&#x?\w+;"|'&#x?\w+;')\s*>""", re.IGNORECASE)
_SPACE = re.compile(rb"[ \t\r\n]*")
# A DOCTYPE up to its internal subset or its end, and one markup declaration: quoted strings are taken whole (they
# may hold ">", "[" or "<!ENTITY"). Possessive quantifiers: one pass in C, never backtracking.
_DOCTYPE_HEAD = re.compile(rb"""(?:[^"'\[>]++|"[^"]*+"|'[^']*+')*+""")
_DECLARATION = re.compile(rb"""<!(?:[^"'>]++|"[^"]*+"|'[^']*+')*+>""")
_SUBSET_STOP = re.compile(rb"[<\]]")
ENTITIES_REFUSED = (
    "the feed declares XML entities ({what}); refused, because entity expansion can turn a small document "
    "into gigabytes"
)


def unsafe_entity(body: bytes) -> bytes | None:
    """The first entity declaration in the document's DOCTYPE that could expand into more than one character.

    The prolog is read as XML reads it, wherever the DOCTYPE ends: comments, processing instructions and quoted
    strings are skipped whole, so a ``<x`` in a DTD comment or megabytes of padding hide nothing. Only encodings
    that spell ``<!ENTITY`` in ASCII are seen here; expat refuses the rest (poller/safexml.py).
    """
    pos = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    while True:
        pos = _SPACE.match(body, pos).end()  # type: ignore[union-attr]
        if body.startswith(b"<?", pos):
            pos = _past(body, b"?>", pos + 2)
        elif body.startswith(b"<!--", pos):
            pos = _past(body, b"-->", pos + 4)
        elif body[pos : pos + 9].upper() == b"<!DOCTYPE":
            return _in_doctype(body, pos + 9)
        else:  # the root element (or garbage): the prolog is over
            return None
        if pos < 0:
            return None


def _past(body: bytes, end: bytes, pos: int) -> int:
    found = body.find(end, pos)
    return -1 if found < 0 else found + len(end)


def _in_doctype(body: bytes, pos: int) -> bytes | None:
    pos = _DOCTYPE_HEAD.match(body, pos).end()  # type: ignore[union-attr]
    return _in_subset(body, pos + 1) if body[pos : pos + 1] == b"[" else None


def _in_subset(body: bytes, pos: int) -> bytes | None:
    while pos >= 0:
        stop = _SUBSET_STOP.search(body, pos)
        if stop is None or stop.group() == b"]":
            return None
        pos = stop.start()
        if body.startswith(b"<!--", pos):
            pos = _past(body, b"-->", pos + 4)
        elif body.startswith(b"<?", pos):
            pos = _past(body, b"?>", pos + 2)
        elif declaration := _DECLARATION.match(body, pos):
            if body[pos : pos + 8].upper() == b"<!ENTITY" and not _SAFE_ENTITY.fullmatch(declaration.group()):
                return declaration.group()
            pos = declaration.end()
        elif body[pos : pos + 8].upper() == b"<!ENTITY":  # never closed: malformed, but say what it was
            return body[pos : pos + 200]
        else:  # "<" starting nothing a DTD may hold: expat stops at it, and so can the scan
            return None
    return None


def _refused(what: str) -> ParsedFeed:
    return ParsedFeed(error="entities", detail=ENTITIES_REFUSED.format(what=what))


def parse_feed(body: bytes, headers: dict[str, str] | None = None, base_url: str = "") -> ParsedFeed:
    """Parse ``body``; an empty body, an HTML page, unreadable XML without entries, or a document declaring XML
    entities (``entities``) is an error."""
    if not body.strip():
        return ParsedFeed(error="empty", detail="empty body")
    declaration = unsafe_entity(body)
    if declaration is not None:
        shown = declaration[:60].decode("ascii", "replace")
        return _refused(f"{shown}{'...' if len(declaration) > 60 else ''}")
    take_refusal()  # a refusal left over from a parse that raised must not be blamed on this one
    try:
        parsed = feedparser.parse(body, response_headers={**(headers or {}), "content-location": base_url})
    except Exception as exc:  # noqa: BLE001 - feedparser is fed hostile bytes; any failure is a bad feed
        take_refusal()
        return ParsedFeed(error="parse", detail=f"{type(exc).__name__}: {exc}")
    refused = take_refusal()
    if refused is not None:
        return _refused(f"'{refused[:60]}'")
    feed = parsed.get("feed", {})
    bozo = parsed.get("bozo_exception")
    result = ParsedFeed(
        entries=list(parsed.get("entries", [])),
        title=feed.get("title", "") or "",
        language=(feed.get("language") or None),
        bozo=f"{type(bozo).__name__}: {bozo}" if bozo else None,
    )
    if not result.entries and not parsed.get("version"):
        result.error = "not_a_feed"
        result.detail = result.bozo or "no RSS/Atom feed found in the body"
    return result
