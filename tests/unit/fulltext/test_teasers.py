"""Which items the pollers send to the full-text stage, and the feeds file's ``fulltext`` setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.core.yamlconf import ConfigError
from newswatch.poller.config import load_feeds
from newswatch.poller.teasers import AUTO_BELOW, wants_page


def article(text: str, url: str | None = "https://news.example/a") -> dict[str, object]:
    return {"id": "a", "url": url, "title": "T", "summary": text, "content": text}


def test_auto_reads_the_page_of_a_teaser_and_not_of_a_whole_article() -> None:
    assert wants_page(article("A drone hit a depot overnight, officials said."), "auto")
    assert not wants_page(article("x" * AUTO_BELOW), "auto")


def test_always_and_never_override_the_length() -> None:
    assert wants_page(article("x" * 10_000), "always")
    assert not wants_page(article("short"), "never")


def test_an_item_without_a_web_link_keeps_its_feed_text() -> None:
    assert not wants_page(article("short", url=None), "always")
    assert not wants_page(article("short", url="file:///etc/passwd"), "always")
    assert not wants_page(article("short", url="javascript:alert(1)"), "auto")


def test_feeds_default_to_auto_and_a_feed_may_set_its_own(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "defaults: {fulltext: auto}\n"
        "feeds:\n"
        "  - {id: a, url: 'https://a.example/rss'}\n"
        "  - {id: b, url: 'https://b.example/rss', fulltext: never}\n"
    )
    feeds = {feed.key: feed.fulltext for feed in load_feeds(path).feeds}
    assert feeds == {"a": "auto", "b": "never"}


def test_a_misspelt_mode_is_an_error_naming_the_line_and_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    url: 'https://a.example/rss'\n    fulltext: sometimes\n")
    with pytest.raises(ConfigError) as caught:
        load_feeds(path)
    message = str(caught.value)
    assert f"{path}:4" in message and "'auto'" in message and "'never'" in message
