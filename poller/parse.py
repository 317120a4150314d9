"""Parse feed bytes with feedparser and decide whether they were a feed at all."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import feedparser

# feedparser rewrites relative links and sanitizes HTML; both are wanted. Its own fetching is never used.
feedparser.RESOLVE_RELATIVE_URIS = True


@dataclass
class ParsedFeed:
    """The entries of a feed, its title and language, or an ``error`` reason when it is not a usable feed."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    language: str | None = None
    error: str | None = None
    detail: str = ""
    bozo: str | None = None  # feedparser's complaint about a feed it could still read


_ENTITY_DECL = re.compile(rb"<!ENTITY\s[^>]*>", re.IGNORECASE)
# A declaration that only names one character (``<!ENTITY nbsp "&#160;">``) cannot expand into anything big.
_SAFE_ENTITY = re.compile(rb'<!ENTITY\s+[\w.-]+\s+"&#x?\w+;"\s*>', re.IGNORECASE)
PROLOG_SCAN = 256 * 1024  # entity declarations live in the DOCTYPE, before the first element


def defuse_entities(body: bytes) -> bytes:
    """Drop entity declarations other than single-character ones from the document's prolog.

    expat stops a "billion laughs" only after inflating it to tens of megabytes (its amplification limit),
    so nested declarations are removed before feedparser sees the bytes; their references then stay unexpanded.
    """
    head = body[:PROLOG_SCAN]
    if b"<!ENTITY" not in head.upper():
        return body
    return (
        _ENTITY_DECL.sub(lambda m: m.group(0) if _SAFE_ENTITY.fullmatch(m.group(0)) else b"", head) + body[PROLOG_SCAN:]
    )


def parse_feed(body: bytes, headers: dict[str, str] | None = None, base_url: str = "") -> ParsedFeed:
    """Parse ``body``; an empty body, an HTML page or unreadable XML without entries is an error."""
    if not body.strip():
        return ParsedFeed(error="empty", detail="empty body")
    try:
        parsed = feedparser.parse(
            defuse_entities(body), response_headers={**(headers or {}), "content-location": base_url}
        )
    except Exception as exc:  # noqa: BLE001 - feedparser is fed hostile bytes; any failure is a bad feed
        return ParsedFeed(error="parse", detail=f"{type(exc).__name__}: {exc}")
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
