"""Turn a parsed feed entry into an article: the JSON document produced to the ``articles`` topic.

Schema (``schema_version`` 1), documented in README.md:
id, feed_id, feed_tags, source, url, title, summary, content, authors, language, published, fetched_at,
text_source ("feed"; the full-text stage sets "page" when ``content`` is the item's page text), page (null here;
the full-text stage's record of the page fetch).
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime
from typing import Any

from newswatch.core.clock import utc_iso
from newswatch.core.text import html_to_text

SCHEMA_VERSION = 1
# A title or summary longer than this is page clutter, not a headline; content is capped so one
# article cannot exceed Kafka's default 1 MB message size.
MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 400_000


def article_id(entry: dict[str, Any], feed_id: str) -> str:
    """A stable id: the item's guid, else its link, else a hash of title + published.

    A guid that is not a URL (e.g. ``"1234"``) is only unique inside its feed, so it is prefixed with the feed id.
    """
    guid = (entry.get("id") or "").strip()
    if guid:
        return guid if "://" in guid else f"{feed_id}:{guid}"
    link = (entry.get("link") or "").strip()
    if link:
        return link
    basis = f"{entry.get('title', '')}\x1f{entry.get('published', '')}".encode()
    return f"{feed_id}:sha1:{hashlib.sha1(basis).hexdigest()}"


def _published(entry: dict[str, Any]) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return utc_iso(datetime.fromtimestamp(calendar.timegm(parsed), UTC))
            except (OverflowError, ValueError, TypeError):
                return None
    return None  # never invented: a feed without dates gives null


def to_article(
    entry: dict[str, Any],
    *,
    feed_id: str,
    feed_tags: dict[str, str],
    source: str,
    language: str | None,
    fetched_at: datetime,
) -> dict[str, Any]:
    """The article document for one feedparser entry."""
    contents = entry.get("content") or []
    body = " ".join(part.get("value", "") for part in contents if isinstance(part, dict))
    summary = html_to_text(entry.get("summary"))
    content = html_to_text(body) if body else summary
    authors = [a.get("name") for a in entry.get("authors", []) if isinstance(a, dict) and a.get("name")]
    return {
        "schema_version": SCHEMA_VERSION,
        "id": article_id(entry, feed_id),
        "feed_id": feed_id,
        "feed_tags": dict(feed_tags),
        "source": source,
        "url": entry.get("link") or None,
        "title": html_to_text(entry.get("title"))[:MAX_TITLE],
        "summary": summary[:MAX_SUMMARY],
        "content": content[:MAX_CONTENT],
        "authors": authors,
        "language": language or None,
        "published": _published(entry),
        "fetched_at": utc_iso(fetched_at),
        "text_source": "feed",
        "page": None,
    }
