"""Parse feed bytes with feedparser and decide whether they were a feed at all."""

from __future__ import annotations

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


def parse_feed(body: bytes, headers: dict[str, str] | None = None, base_url: str = "") -> ParsedFeed:
    """Parse ``body``; an empty body, an HTML page or unreadable XML without entries is an error."""
    if not body.strip():
        return ParsedFeed(error="empty", detail="empty body")
    try:
        parsed = feedparser.parse(body, response_headers={**(headers or {}), "content-location": base_url})
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
