"""What the full-text stage changes in an article: its ``content`` (the page's main text) and the page record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newswatch.core.clock import utc_iso
from newswatch.core.text import clean
from newswatch.fulltext.pages import Page


def with_page(article: dict[str, Any], page: Page) -> dict[str, Any]:
    """A copy of ``article`` with what its page gave.

    Extracted: ``content`` is the page's text and ``text_source`` "page"; the feed's teaser stays in ``summary``.
    Otherwise the feed's text is kept (``text_source`` "feed") and ``page.outcome`` says why.
    """
    record = {
        "outcome": page.outcome,
        "status": page.status,
        "url": page.url or article.get("url"),
        "bytes": page.bytes,
        "fetched_at": utc_iso(datetime.now(UTC)),
        "seconds": round(page.fetch_seconds + page.extract_seconds, 3),
    }
    if page.detail and not page.extracted:
        record["detail"] = clean(page.detail)[:300]
    updated = {**article, "page": record}
    if page.extracted:
        # the page is as hostile as the feed: no control characters or lone surrogates, as the pollers store text
        updated["content"] = clean(page.text)
        updated["text_source"] = "page"
    else:
        updated["text_source"] = "feed"
    return updated


def without_page(article: dict[str, Any], reason: str) -> dict[str, Any]:
    """A copy of ``article`` that keeps the feed's text because no page could be asked for (``reason``)."""
    return {**article, "text_source": "feed", "page": {"outcome": reason, "status": None, "url": article.get("url")}}
