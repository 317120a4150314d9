"""A page's text is cleaned like a feed's: control characters (a terminal's ESC/OSC sequences) and lone
surrogates (which the producer cannot encode) never reach the article."""

from __future__ import annotations

from newswatch.fulltext.enrich import with_page
from newswatch.fulltext.pages import Page


def test_page_text_reaches_the_article_without_control_characters_or_surrogates() -> None:
    text = "Drone \x1b]0;pwned\x07strike \ud800."
    page = Page(url="https://example.org/a", outcome="extracted", status=200, text=text)
    article = with_page({"id": "a", "title": "t", "content": "teaser"}, page)
    assert article["content"] == "Drone ]0;pwnedstrike \ufffd."
    article["content"].encode("utf-8")  # the producer can send it
