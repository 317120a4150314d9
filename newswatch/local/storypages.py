"""Real articles dressed as real web pages, for the full-text tests, the bench and ``make run``'s sample pages.

A template is a real news page (navigation, cookie banner, related stories, footer all kept); its article body is
replaced by the story's paragraphs and its title and headline by the story's title. The full-text stage must then
find the story and only the story.
"""

from __future__ import annotations

import re
from html import escape

import lxml.html

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’]?\s+(?=[\"'“‘A-ZÀ-ÖØ-Þ0-9])")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (roughly: at ., ! or ? followed by a capital)."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def first_sentence(text: str, limit: int = 300) -> str:
    """What a summary-only feed gives of a story: its first sentence, cut at ``limit`` characters."""
    found = sentences(text)
    return (found[0] if found else text)[:limit]


def paragraphs(text: str, per_paragraph: int = 3) -> list[str]:
    """``text`` as paragraphs: its own blank-line breaks, else groups of ``per_paragraph`` sentences."""
    own = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    if len(own) > 1:
        return own
    found = sentences(text)
    return [" ".join(found[i : i + per_paragraph]) for i in range(0, len(found), per_paragraph)]


def _body_element(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element holding the page's article: the one with the most paragraph text directly inside it."""
    best, best_size = document, -1
    for element in document.iter("div", "section", "article", "main"):
        size = sum(len(p.text_content()) for p in element.findall("p"))
        if size > best_size:
            best, best_size = element, size
    return best


def story_page(template: bytes, title: str, text: str) -> bytes:
    """The ``template`` page with its title, headline and article body replaced by the story's."""
    document = lxml.html.document_fromstring(template)
    body = _body_element(document)
    for child in list(body):
        if child.tag == "p":
            body.remove(child)
    for paragraph in reversed(paragraphs(text)):
        body.insert(0, lxml.html.fragment_fromstring(f"<p>{escape(paragraph)}</p>"))
    for element in document.iter("title", "h1"):
        for child in list(element):
            element.remove(child)
        element.text = title
    return lxml.html.tostring(document, encoding="utf-8", doctype="<!DOCTYPE html>")


def teaser_feed(items: list[dict[str, str]], title: str = "Summary-only news (local)") -> bytes:
    """An RSS 2.0 feed whose items carry a title, a link and a one-sentence description, as most real feeds do.

    ``items``: dicts with ``guid``, ``title``, ``link``, ``description`` and optionally ``pubDate``.
    """
    entries = "".join(
        "<item>"
        f'<guid isPermaLink="false">{escape(i["guid"])}</guid><title>{escape(i["title"])}</title>'
        f"<link>{escape(i['link'])}</link><description>{escape(i['description'])}</description>"
        + (f"<pubDate>{escape(i['pubDate'])}</pubDate>" if i.get("pubDate") else "")
        + "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link><description>teasers</description>"
        f"{entries}</channel></rss>"
    ).encode()
