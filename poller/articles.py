"""Turn a parsed feed entry into an article: the JSON document produced to the ``articles`` topic.

Schema (``schema_version`` 1), documented in README.md:
id, feed_id, feed_tags, source, url, title, summary, content, authors, language, published, fetched_at,
text_source ("feed"; the full-text stage sets "page" when ``content`` is the item's page text), page (null here;
the full-text stage's record of the page fetch).

Every string a feed supplies is capped in UTF-8 bytes (not characters: 400,000 CJK characters are 1.2 MB) and
cleaned of control characters, so an article always fits in one Kafka message, and so do the match message and
the alert that copy its id, URL, title and source (agents/classify.py, alerts/build.py, alerts/fingerprint.py).
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from newswatch.core.clock import utc_iso
from newswatch.core.text import CONTROL_CHARS, SURROGATES, cap_bytes, clean, html_to_text

SCHEMA_VERSION = 1
# Caps in UTF-8 bytes. Their sum is ~300 kB; JSON escaping at most doubles a cleaned string (a quote or a
# backslash becomes two bytes; control characters, which would become six, are removed), so an article stays
# under MAX_ARTICLE_BYTES, far below the producer's 1 MB. A match message copies id, URL and source three times
# and the title twice: ~50 kB of them at worst, far below Faust's 1,000,000 bytes.
MAX_TITLE_BYTES = 2_048  # a headline; anything longer is page clutter
MAX_SUMMARY_BYTES = 32_768
MAX_CONTENT_BYTES = 262_144  # ~40,000 words of English: any news story, whole
MAX_ID_BYTES = 2_048  # longer guids are replaced by a hash (truncating could merge two items)
MAX_URL_BYTES = 4_096  # longer links are dropped (a truncated link leads nowhere)
MAX_SOURCE_BYTES = 512
MAX_AUTHOR_BYTES = 256
MAX_AUTHORS = 10
MAX_LANGUAGE_BYTES = 35  # the longest well-formed BCP 47 tag in practice
# What the caps above guarantee for the encoded article (poller/produce.py ``encode``), with feed ids and tags of
# the feeds file's ordinary sizes.
MAX_ARTICLE_BYTES = 640 * 1024

URL_SCHEMES = ("http", "https")


# Markup read per field: eight times the field's cap in characters. Text needs far fewer (tags are a fraction of
# any real item), and reading no further keeps a 10 MB "author" from costing seconds of parsing.
MARKUP_PER_BYTE = 8


def plain(markup: Any, limit: int) -> str:
    """Visible text of a feed's HTML (or plain) string, cleaned and capped at ``limit`` bytes."""
    if not isinstance(markup, str):
        return ""
    return cap_bytes(clean(html_to_text(markup[: limit * MARKUP_PER_BYTE])), limit)


def safe_url(link: Any) -> str | None:
    """An absolute http(s) link of at most ``MAX_URL_BYTES``, else None.

    ``javascript:`` and ``data:`` links would run in any HTML page that shows the alert; a link with spaces or
    control characters is not one a browser would follow as given.
    """
    if not isinstance(link, str):
        return None
    link = link.strip()
    if not link or len(link.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES:
        return None
    if any(ch.isspace() or CONTROL_CHARS.match(ch) or SURROGATES.match(ch) for ch in link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc:
        return None
    return link


def article_id(entry: dict[str, Any], feed_id: str) -> str:
    """A stable id: the item's guid, else its link, else a hash of title + published.

    A guid that is not a URL (e.g. ``"1234"``) is only unique inside its feed, so it is prefixed with the feed id.
    An id over ``MAX_ID_BYTES`` becomes the feed id and a hash of it: stable, and still one per item.
    """
    guid = clean(_text(entry.get("id"))).strip()
    if guid:
        found = guid if "://" in guid else f"{feed_id}:{guid}"
    elif link := clean(_text(entry.get("link"))).strip():
        found = link
    else:
        basis = f"{_text(entry.get('title'))}\x1f{_text(entry.get('published'))}".encode("utf-8", "surrogatepass")
        return f"{feed_id}:sha1:{hashlib.sha1(basis).hexdigest()}"
    raw = found.encode("utf-8")
    if len(raw) > MAX_ID_BYTES:
        return f"{feed_id}:sha256:{hashlib.sha256(raw).hexdigest()}"
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _published(entry: dict[str, Any]) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return utc_iso(datetime.fromtimestamp(calendar.timegm(parsed), UTC))
            except (OverflowError, ValueError, TypeError, OSError):
                return None
    return None  # never invented: a feed without dates gives null


def _authors(entry: dict[str, Any]) -> list[str]:
    authors = entry.get("authors")
    found: list[str] = []
    for author in authors if isinstance(authors, list) else []:
        name = plain(author.get("name"), MAX_AUTHOR_BYTES) if isinstance(author, dict) else ""
        if name:
            found.append(name)
            if len(found) == MAX_AUTHORS:
                break
    return found


def to_article(
    entry: dict[str, Any],
    *,
    feed_id: str,
    feed_tags: dict[str, str],
    source: str,
    language: str | None,
    fetched_at: datetime,
) -> dict[str, Any]:
    """The article document for one feedparser entry, every field within its byte cap.

    ``source`` (the feed's name, or its channel title) is stripped of HTML like the title: a channel titled
    ``<img onerror=...>`` would otherwise travel into every alert.
    """
    contents = entry.get("content")
    parts = contents if isinstance(contents, list) else []
    body = " ".join(v for part in parts if isinstance(part, dict) and isinstance(v := part.get("value"), str))
    summary = plain(entry.get("summary"), MAX_SUMMARY_BYTES)
    content = plain(body, MAX_CONTENT_BYTES) if body else summary
    return {
        "schema_version": SCHEMA_VERSION,
        "id": article_id(entry, feed_id),
        "feed_id": feed_id,
        "feed_tags": dict(feed_tags),
        "source": plain(source, MAX_SOURCE_BYTES) or feed_id,
        "url": safe_url(entry.get("link")),
        "title": plain(entry.get("title"), MAX_TITLE_BYTES),
        "summary": summary,
        "content": content,
        "authors": _authors(entry),
        "language": cap_bytes(clean(language), MAX_LANGUAGE_BYTES).strip() or None if language else None,
        "published": _published(entry),
        "fetched_at": utc_iso(fetched_at),
        "text_source": "feed",
        "page": None,
    }
