"""Fuzzing the poller's input boundary (issue 17): random and mutated feed bytes through the fetch limits, the
parse and the article building. Whatever the bytes, nothing raises, every article is within its byte caps and
carries no control character or non-http link, and peak traced memory stays bounded.

Seeds are the team's real news feeds and a sample of feedparser's own test corpus; mutations flip, cut, splice and
insert hostile snippets (entity declarations behind a DTD comment, terminal escapes, script links, CJK floods).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch.core.http import FetchLimits, fetch_http
from newswatch.poller.articles import (
    MAX_ARTICLE_BYTES,
    MAX_AUTHOR_BYTES,
    MAX_AUTHORS,
    MAX_CONTENT_BYTES,
    MAX_ID_BYTES,
    MAX_LANGUAGE_BYTES,
    MAX_SOURCE_BYTES,
    MAX_SUMMARY_BYTES,
    MAX_TITLE_BYTES,
    MAX_URL_BYTES,
    to_article,
)
from newswatch.poller.parse import parse_feed
from newswatch.poller.produce import encode
from newswatch.poller.run import MAX_LISTED, newest_first
from tests.conftest import SHARED

pytestmark = pytest.mark.fuzz
NOW = datetime(2026, 12, 6, tzinfo=UTC)

MAX_BODY = 256 * 1024  # the fetch cap of these tests: large enough for every seed, small enough to stay quick
SEED_MAX = 100_000  # seeds larger than this would make each example slow under tracemalloc
ENTRIES_CHECKED = 60
HOSTILE = [
    b'<!DOCTYPE rss [<!-- <x --><!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b"<!-- <x " + b"p" * 2_000 + b" -->",
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">',
    b"&b;&c;",
    b"<title>\x1b]0;pwned\x07\x1b[2J</title>",
    b"<title><![CDATA[\x1b]0;pwned\x07<img src=x onerror=alert(1)>]]></title>",
    b"&#27;]0;pwned&#7;&#x9b;",
    b"<link>javascript:alert(document.cookie)</link>",
    b"<link>data:text/html;base64,PHNjcmlwdD4=</link>",
    b"<link>https://x.org/" + b"l" * 5_000 + b"</link>",
    b"<guid>" + b"g" * 3_000 + b"</guid>",
    "<description>" + "中" * 20_000 + "</description>",
    b"<item><title>t</title><guid>x</guid></item>" * 50,
    b"<author>" + b'"\\' * 300 + b"</author>",
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<?xml version="1.0" encoding="utf-7"?>+ADw-!ENTITY',
    b"\xef\xbb\xbf",
    b"\xff\xfe\x00\x00",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\x00",
    b"]]>",
    b"<![CDATA[",
]
HOSTILE = [s if isinstance(s, bytes) else s.encode() for s in HOSTILE]
MUTATION = st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]), st.integers(0, 2**31))


@lru_cache(maxsize=1)
def seeds() -> tuple[bytes, ...]:
    """Every real feed under SEED_MAX and every 40th file of feedparser's corpus."""
    if not SHARED.exists():
        return (b'<rss version="2.0"><channel><title>c</title><item><title>t</title></item></channel></rss>',)
    feeds = [p.read_bytes() for p in sorted((SHARED / "feeds").glob("*")) if p.stat().st_size <= SEED_MAX]
    corpus = sorted((SHARED / "feedparser-tests").rglob("*.xml"))[::40]
    return tuple(feeds + [p.read_bytes() for p in corpus if p.stat().st_size <= SEED_MAX])


def mutate(body: bytes, mutations: list[tuple[str, int]]) -> bytes:
    """Apply each mutation at a position chosen by its number (the same numbers give the same bytes)."""
    data = bytearray(body)
    for kind, n in mutations:
        at = n % (len(data) + 1)
        snippet = HOSTILE[n % len(HOSTILE)]
        if kind == "flip" and data:
            data[at % len(data)] ^= 1 << (n % 8)
        elif kind == "insert":
            data[at:at] = snippet
        elif kind == "delete":
            del data[at : at + 1 + n % 64]
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            other = seeds()[n % len(seeds())]
            data[at:] = other[n % (len(other) + 1) :]
    return bytes(data)


async def fetched(body: bytes, gzipped: bool) -> httpx.Response | Any:
    """The body served as an HTTP response (gzip-encoded when asked) and read through the poller's fetch limits."""
    wire = gzip.compress(body) if gzipped else body
    headers = {"Content-Type": "application/rss+xml", **({"Content-Encoding": "gzip"} if gzipped else {})}
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, stream=httpx.ByteStream(wire), headers=headers)
    )
    async with httpx.AsyncClient(transport=transport) as client:
        return await fetch_http(
            client, "http://feed.test/rss", limits=FetchLimits(max_bytes=MAX_BODY, refuse_private=False)
        )


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def check_article(made: dict[str, Any]) -> None:
    """Every field within its cap; no control character where a human reads it; only http(s) links."""
    assert size(made["title"]) <= MAX_TITLE_BYTES
    assert size(made["summary"]) <= MAX_SUMMARY_BYTES
    assert size(made["content"]) <= MAX_CONTENT_BYTES
    assert size(made["id"]) <= MAX_ID_BYTES and made["id"]
    assert size(made["source"]) <= MAX_SOURCE_BYTES
    assert len(made["authors"]) <= MAX_AUTHORS and all(size(a) <= MAX_AUTHOR_BYTES for a in made["authors"])
    assert made["language"] is None or size(made["language"]) <= MAX_LANGUAGE_BYTES
    assert made["url"] is None or (
        made["url"].startswith(("http://", "https://")) and size(made["url"]) <= MAX_URL_BYTES
    )
    for field in ("title", "source", "summary", "content", "id"):
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in made[field]), (field, made[field][:80])
    assert len(encode(made)) <= MAX_ARTICLE_BYTES
    json.loads(encode(made))  # valid UTF-8 JSON: no lone surrogate got through


def through_the_poller(body: bytes, gzipped: bool) -> None:
    """Fetch limits, parse and article building, as one poll runs them; fails on any escape or overrun."""
    response = asyncio.run(fetched(body, gzipped))
    if response.ok:
        assert len(response.body) <= MAX_BODY
        body = response.body
    else:  # the cap (or another fetch refusal) stopped it; the parse still gets the bytes, cut at the cap
        assert response.error in {"too_large", "encoding", "connection", "private_address", "timeout"}
        body = body[:MAX_BODY]
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, "http://feed.test/rss")
    if parsed.error:
        assert parsed.error in {"empty", "parse", "not_a_feed", "entities"}
        return
    for entry in newest_first(parsed.entries)[:MAX_LISTED][:ENTRIES_CHECKED]:
        check_article(
            to_article(entry, feed_id="f", feed_tags={}, source=parsed.title, language=parsed.language, fetched_at=NOW)
        )


def bounded(body: bytes, gzipped: bool) -> None:
    """``through_the_poller`` with its peak traced memory bounded: a few times the body, never an expansion."""
    tracemalloc.start()
    try:
        through_the_poller(body, gzipped)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * min(len(body), MAX_BODY) + 24 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {len(body)} bytes"


@given(seed=st.integers(0, 10_000), mutations=st.lists(MUTATION, max_size=6), gzipped=st.booleans())
def test_mutated_feeds_never_raise_and_give_articles_within_their_caps(
    seed: int, mutations: list[tuple[str, int]], gzipped: bool
) -> None:
    bounded(mutate(seeds()[seed % len(seeds())], mutations), gzipped)


@given(
    body=st.one_of(
        st.binary(max_size=2_048),
        st.lists(st.sampled_from(HOSTILE), max_size=12).map(b"".join),
        st.builds(
            lambda parts: (
                b'<rss version="2.0"><channel><title>c</title><item>' + b"".join(parts) + b"</item></channel></rss>"
            ),
            st.lists(st.sampled_from(HOSTILE), max_size=8),
        ),
    ),
    gzipped=st.booleans(),
)
def test_random_bytes_never_raise(body: bytes, gzipped: bool) -> None:
    bounded(body, gzipped)


def test_an_oversized_body_is_cut_by_the_fetch_limits() -> None:
    """The fuzz's fetch path does enforce the cap (a body one byte over is refused, gzip or not)."""
    for gzipped in (False, True):
        response = asyncio.run(fetched(b"<rss>" + b" " * MAX_BODY, gzipped))
        assert response.error == "too_large"
