"""Feed items become articles with stable ids, clean text and honest dates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.core.text import html_to_text
from newswatch.poller.articles import article_id, to_article
from newswatch.poller.parse import parse_feed
from tests.conftest import SAMPLES

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def articles_of(path: Path) -> list[dict]:
    parsed = parse_feed(path.read_bytes())
    assert parsed.error is None
    return [to_article(e, feed_id="f", feed_tags={}, source="s", language=None, fetched_at=NOW) for e in parsed.entries]


def test_seed_story_item_carries_the_full_cleaned_text() -> None:
    (article,) = articles_of(SAMPLES / "seed-story.rss")
    assert article["id"] == "f:newswatch-sample-seed-2025-04-09"
    assert article["title"] == "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia"
    assert "Kramatorsk suffered a “massive drone attack”" in article["content"]
    assert "<p>" not in article["content"]
    assert article["published"] == "2025-04-09T12:00:00Z"
    assert article["fetched_at"] == "2026-11-25T00:00:00Z"


def test_ids_are_stable_across_two_parses_of_the_same_feed() -> None:
    path = SAMPLES / "kyivindependent__2024-07-26__plakhovgroup-recompiled.xml"
    assert [a["id"] for a in articles_of(path)] == [a["id"] for a in articles_of(path)]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"id": "https://x.org/a", "link": "https://x.org/b"}, "https://x.org/a"),
        ({"id": "1234"}, "feed:1234"),
        ({"link": "https://x.org/b"}, "https://x.org/b"),
    ],
)
def test_article_id_prefers_guid_then_link(entry: dict, expected: str) -> None:
    assert article_id(entry, "feed") == expected


def test_article_id_without_guid_or_link_hashes_title_and_date() -> None:
    one = article_id({"title": "A", "published": "x"}, "feed")
    assert one == article_id({"title": "A", "published": "x"}, "feed") != article_id({"title": "B"}, "feed")


def test_item_without_date_gets_null_not_an_invented_date() -> None:
    body = b"<rss version='2.0'><channel><title>t</title><item><title>x</title><link>https://x.org</link></item></channel></rss>"
    (entry,) = parse_feed(body).entries
    assert to_article(entry, feed_id="f", feed_tags={}, source="s", language=None, fetched_at=NOW)["published"] is None


def test_html_to_text_drops_scripts_and_decodes_entities() -> None:
    assert html_to_text("<p>Tom &amp; Jerry<script>alert(1)</script></p><p>next</p>") == "Tom & Jerry next"
