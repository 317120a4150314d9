"""Hostile and odd feeds: feedparser's own corpus and the real news snapshots never crash the parse path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.poller.articles import to_article
from newswatch.poller.parse import parse_feed
from tests.conftest import SHARED

CORPUS = sorted((SHARED / "feedparser-tests").rglob("*.xml")) if SHARED.exists() else []
REAL_FEEDS = sorted((SHARED / "feeds").glob("*")) if SHARED.exists() else []
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_corpus_is_there() -> None:
    assert len(CORPUS) > 1000, "../shared/data/feedparser-tests is missing or empty"


def test_every_corpus_file_parses_to_articles_or_a_named_error() -> None:
    """One test over ~2,000 files (not one per file) keeps the suite fast; failures are listed together."""
    crashed = []
    for path in CORPUS:
        try:
            body = path.read_bytes()
            parsed = parse_feed(body)
            if parsed.error is None:
                for entry in parsed.entries:
                    article = to_article(entry, feed_id="t", feed_tags={}, source="t", language=None, fetched_at=NOW)
                    assert isinstance(article["id"], str) and article["id"]
            elif parsed.error == "entities":  # refused on purpose: only documents declaring an entity
                assert b"<!ENTITY" in body
            else:
                assert parsed.error in {"empty", "parse", "not_a_feed"}
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            crashed.append(f"{path.relative_to(SHARED)}: {type(exc).__name__}: {exc}")
    assert crashed == []


@pytest.mark.parametrize("path", REAL_FEEDS, ids=lambda p: p.name)
def test_real_news_feeds_give_titled_articles(path: Path) -> None:
    parsed = parse_feed(path.read_bytes())
    assert parsed.error is None and parsed.entries
    articles = [
        to_article(e, feed_id="t", feed_tags={}, source="t", language=None, fetched_at=NOW) for e in parsed.entries
    ]
    assert all(a["title"] and a["id"] for a in articles)
    # Some real feeds list one story twice (Lenta.ru, India Today); the same item must get the same id.
    by_id: dict[str, set[str]] = {}
    for a in articles:
        by_id.setdefault(a["id"], set()).add(a["title"])
    assert all(len(titles) == 1 for titles in by_id.values())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "not_a_feed"),
        (b"\x00\xff\xfe garbage \x89PNG", "not_a_feed"),
    ],
)
def test_bodies_that_are_not_feeds_get_a_reason(body: bytes, reason: str) -> None:
    assert parse_feed(body).error == reason


def test_billion_laughs_is_not_expanded() -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{entities}]>'
        '<rss version="2.0"><channel><title>&l9;</title><item><title>x</title></item></channel></rss>'
    ).encode()
    parsed = parse_feed(body)
    assert len(parsed.title) < 10_000  # 10^9 "lol"s would be 3 GB
