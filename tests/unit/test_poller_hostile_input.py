"""Issue 17, the poller's side: what a hostile feed sends never bloats memory, a message or the feed-state record,
and never reaches an alert as markup, a control sequence, a script link or a secret."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from newswatch.agents.classify import rule_options
from newswatch.alerts.build import build_alert
from newswatch.alerts.fingerprint import story_of
from newswatch.core.http import FetchLimits
from newswatch.local.feedserver import FeedServer, Route
from newswatch.matcher import Matcher, load_rules
from newswatch.poller.articles import (
    MAX_ARTICLE_BYTES,
    MAX_AUTHOR_BYTES,
    MAX_CONTENT_BYTES,
    MAX_ID_BYTES,
    MAX_SOURCE_BYTES,
    MAX_SUMMARY_BYTES,
    MAX_TITLE_BYTES,
    cap_bytes,
    to_article,
)
from newswatch.poller.cli import poller_user_agent
from newswatch.poller.config import FeedsConfig, default_id, load_feeds
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.parse import parse_feed
from newswatch.poller.produce import encode
from newswatch.poller.run import Poller, PollerOptions
from newswatch.poller.state import MAX_RECORD_BYTES, FeedState
from tests.conftest import ROOT, SHARED

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PRODUCER_LIMIT = 1_048_576  # poller/produce.py max_request_size
FAUST_LIMIT = 1_000_000  # the worker's producer


def article(entry: dict[str, Any], source: str = "s") -> dict[str, Any]:
    return to_article(entry, feed_id="f", feed_tags={}, source=source, language="en", fetched_at=NOW)


def size(text: str) -> int:
    return len(text.encode("utf-8"))


# -- item 1: XML entity expansion ------------------------------------------------------------------------------


def laughs_behind_a_comment(padding: int = 300 * 1024, encoding: str = "utf-8") -> bytes:
    """The issue's case: a DTD comment holding ``<x`` and more than 256 kB of padding, then nested entities.

    feedparser's DOCTYPE stripping stops at that ``<x`` and the old 256 kB scan never reached the declarations:
    expat expanded them (2 MB grew into a 100 MB title, 1 GB peak). This one expands to ~10 MB if let through.
    """
    entities = (
        '<!ENTITY a0 "' + "lol" * 33 + '">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 6))
    )
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'
    return (
        f'{declaration}<!DOCTYPE rss [<!-- <x {"p" * padding} -->{entities}]><rss version="2.0"><channel>'
        "<title>&a5;</title><item><title>&a5;</title><guid>g</guid></item></channel></rss>"
    ).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entities_declared_behind_a_dtd_comment_are_refused_with_memory_bounded(encoding: str) -> None:
    """UTF-8: refused by the prolog scan; UTF-16 (no ASCII ``<!ENTITY`` to scan for): refused by expat itself.
    Broken, the user sees a 10 MB "title" in an alert and a poller eating a gigabyte per such feed."""
    body = laughs_behind_a_comment(encoding=encoding)
    tracemalloc.start()
    try:
        started = time.monotonic()
        parsed = parse_feed(body)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed.error == "entities", (parsed.error, len(parsed.title))
    assert "declares XML entities" in parsed.detail and "a0" in parsed.detail
    assert parsed.entries == []
    assert peak < 8 * len(body) + 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert elapsed < 5


def test_an_entity_declaration_anywhere_in_the_internal_subset_is_refused() -> None:
    """Quoted strings and processing instructions before the declaration hide nothing either."""
    body = (
        b"<?xml version='1.0'?><!-- <y --><!DOCTYPE rss SYSTEM \"x>[\" [<?pi <z ?><!ATTLIST a b CDATA '<!--'>"
        + b" " * 300_000
        + b'<!ENTITY big "aaaaaaaaaa"><!ENTITY all "&big;&big;">]><rss version="2.0"><channel><title>&all;</title>'
        b"<item><title>t</title></item></channel></rss>"
    )
    assert parse_feed(body).error == "entities"


def test_single_character_entities_still_parse() -> None:
    """``<!ENTITY nbsp "&#160;">`` cannot expand; feeds declaring HTML's named characters keep working."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]><rss version="2.0"><channel>'
        b"<title>A&nbsp;B</title><item><title>t</title><guid>g</guid></item></channel></rss>"
    )
    parsed = parse_feed(body)
    assert parsed.error is None and parsed.title == "A\xa0B"


# -- item 2: byte caps on every field ---------------------------------------------------------------------------


def test_cjk_text_is_capped_in_bytes_so_the_article_can_be_produced() -> None:
    """400,000 CJK characters are 1.2 MB: over the producer's limit, the item could never be delivered and its
    feed retried forever."""
    cjk = "中" * 400_000
    made = article({"title": cjk, "summary": cjk, "content": [{"value": cjk}], "id": "g", "link": "https://x.org/a"})
    assert size(made["title"]) <= MAX_TITLE_BYTES
    assert size(made["summary"]) <= MAX_SUMMARY_BYTES
    assert size(made["content"]) <= MAX_CONTENT_BYTES
    assert set(made["content"]) == {"中"}  # cut on a character boundary, not inside one
    assert len(encode(made)) <= MAX_ARTICLE_BYTES < PRODUCER_LIMIT


def test_cap_bytes_cuts_on_a_character_boundary() -> None:
    assert cap_bytes("aé中😀", 1) == "a"
    assert cap_bytes("aé中😀", 2) == "a"
    assert cap_bytes("aé中😀", 3) == "aé"
    assert cap_bytes("aé中😀", 9) == "aé中"
    assert cap_bytes("aé中😀", 10) == "aé中😀"


def test_every_field_has_a_cap_even_escaped_as_json() -> None:
    """Quotes and backslashes double in JSON; control characters (six bytes each) are removed, so the worst
    article still fits with room to spare."""
    worst = '"\\' * 600_000
    made = article(
        {
            "title": worst,
            "summary": worst,
            "content": [{"value": worst}],
            "id": "g" * 500_000,
            "link": "https://x.org/" + "a" * 500_000,
            "authors": [{"name": worst}] * 1_000,
        },
        source=worst,
    )
    assert size(made["id"]) <= MAX_ID_BYTES and made["url"] is None
    assert size(made["source"]) <= MAX_SOURCE_BYTES
    assert len(made["authors"]) <= 10 and all(size(a) <= MAX_AUTHOR_BYTES for a in made["authors"])
    assert len(encode(made)) <= MAX_ARTICLE_BYTES


def test_a_huge_link_in_a_matching_article_keeps_the_match_message_under_fausts_limit() -> None:
    """A 380 kB link copied three times built a 1.14 MB match message: the classify agent's send raised."""
    text = (SHARED / "seed-article.txt").read_text(encoding="utf-8") if SHARED.exists() else ""
    if not text:
        pytest.skip("../shared/data/seed-article.txt is not there")
    made = article(
        {
            "id": "https://x.org/" + "i" * 380_000,
            "link": "https://x.org/" + "l" * 380_000,
            "title": "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia " + "T" * 100_000,
            "content": [{"value": text}],
        },
        source="Source " * 100_000,
    )
    matches = Matcher(load_rules(ROOT / "config" / "rules")).analyze(made).events
    assert matches, "the seed story matches the bundled rules"
    story = story_of(made)
    for match in matches:
        candidate = {
            "alert": build_alert(made, match, detected_at=NOW),
            "story": story,
            "options": rule_options(match.rule),
        }
        assert len(json.dumps(candidate, ensure_ascii=False).encode()) < FAUST_LIMIT // 4


class FakeSink:
    """Takes every article; the state write fails when told to (as Kafka refuses a record over its limit)."""

    topic = "articles"

    def __init__(self, state_error: BaseException | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.states: list[bytes] = []
        self.state_error = state_error

    async def send_all(self, articles: list[dict[str, Any]], topics: list[str] | None = None) -> tuple[list, list]:
        self.sent.extend(articles)
        return [a["id"] for a in articles], []

    async def send_state(self, topic: str, feed_id: str, value: bytes) -> BaseException | None:
        self.states.append(value)
        return self.state_error


def big_feed(path: Path, items: int) -> Path:
    """A feed of dated items, listed oldest first (newest first is the poller's job)."""
    dates = (time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1.7e9 + i * 60)) for i in range(items))
    rows = "".join(
        f"<item><title>t{i}</title><guid>g{i}</guid><pubDate>{date}</pubDate></item>" for i, date in enumerate(dates)
    )
    path.write_text(f'<rss version="2.0"><channel><title>Big</title>{rows}</channel></rss>')
    return path


def poller_for(path: Path, sink: FakeSink, **options: Any) -> Poller:
    config = FeedsConfig.model_validate({"feeds": [{"id": "big", "url": str(path)}]})
    metrics = PollerMetrics(CollectorRegistry())
    return Poller(config, sink, options=PollerOptions(state_topic="feed-state", **options), metrics=metrics)  # type: ignore[arg-type]


def test_a_long_feed_is_produced_a_capped_batch_per_poll_newest_first_with_a_small_state(tmp_path: Path) -> None:
    """A 1.6 MB feed gave 40,000 articles in one poll and a 1.4 MB state record that could not be written: after a
    restart the whole feed was produced again. (3,000 items here: feedparser alone takes 0.6 ms an item.)"""
    sink = FakeSink()
    poller = poller_for(big_feed(tmp_path / "big.xml", 3_000), sink)
    [first] = asyncio.run(poller.poll_once())
    assert first.new == 200 and first.error is None
    assert [a["title"] for a in sink.sent[:3]] == ["t2999", "t2998", "t2997"]
    sample = poller.metrics.registry.get_sample_value
    assert sample("newswatch_poller_items_capped_total", {"feed": "big", "reason": "deferred"}) == 800
    assert sample("newswatch_poller_items_capped_total", {"feed": "big", "reason": "dropped"}) == 2_000
    assert max(len(record) for record in sink.states) < MAX_RECORD_BYTES < PRODUCER_LIMIT
    [second] = asyncio.run(poller.poll_once())
    assert second.new == 200 and sink.sent[200]["title"] == "t2799"
    assert len({a["id"] for a in sink.sent}) == 400  # nothing produced twice


def test_a_state_record_never_outgrows_its_limit_whatever_the_seen_limit(tmp_path: Path) -> None:
    state = FeedState(etag="e" * 100_000, last_error_detail="д" * 100_000)
    state.remember([f"id-{i}" for i in range(50_000)], current=50_000, limit=10**9)
    record = state.to_json()
    assert len(record) < MAX_RECORD_BYTES
    assert FeedState.from_json(record).etag is None  # too long to be a validator: no conditional GET


def test_a_failed_state_write_is_a_warning_and_a_metric(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG nobody saw that a feed's state was never saved, until a restart produced the feed again."""
    sink = FakeSink(state_error=RuntimeError("MessageSizeTooLargeError"))
    poller = poller_for(big_feed(tmp_path / "small.xml", 3), sink)
    with caplog.at_level(logging.WARNING, logger="newswatch.poller.run"):
        asyncio.run(poller.poll_once())
    assert poller.metrics.registry.get_sample_value("newswatch_poller_state_write_errors_total") == 1
    assert any("state of feed big not saved" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


# -- item 4, the poller's part: markup, control characters and script links -------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Breaking\x1b]0;pwned\x07\x1b[2J news",
        "<![CDATA[Breaking\x1b]0;pwned\x07\x1b[2J news]]>",
        "Breaking&#27;]0;pwned&#7;&#27;[2J news",
        "<b>Breaking</b>\x9b2J news",
    ],
)
def test_titles_reach_the_article_without_control_characters(title: str) -> None:
    """``\\x1b]0;pwned\\x07\\x1b[2J`` retitled and cleared the terminal of whoever ran ``alerts tail``."""
    body = (
        f'<rss version="2.0"><channel><title>c</title><item><title>{title}</title><guid>g</guid></item></channel></rss>'
    )
    (entry,) = parse_feed(body.encode()).entries
    made = article(entry)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in made["title"]), repr(made["title"])
    assert made["title"].startswith("Breaking") and made["title"].endswith("news")


def test_a_channel_title_with_markup_becomes_plain_text_in_source() -> None:
    """The source is the feed's raw channel title: ``<img onerror=...>`` travelled into every alert."""
    body = (
        b'<rss version="2.0"><channel><title>&lt;img src=x onerror=alert(1)&gt;Daily &lt;b&gt;News&lt;/b&gt;</title>'
        b"<item><title>t</title><guid>g</guid></item></channel></rss>"
    )
    parsed = parse_feed(body)
    made = article(parsed.entries[0], source=parsed.title)
    assert made["source"] == "Daily News"


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("javascript:alert(document.cookie)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", False),
        ("vbscript:msgbox", False),
        ("file:///etc/passwd", False),
        ("https://x.org/a b", False),
        ("https://x.org/story?id=1", True),
        ("http://x.org/", True),
    ],
)
def test_only_http_links_are_kept(link: str, kept: bool) -> None:
    """A ``javascript:`` link is an XSS in any HTML page that shows the alert."""
    made = article({"id": "g", "link": link, "title": "t"})
    assert (made["url"] == link) is kept and (made["url"] is None) is not kept


# -- item 6: feed ids and the User-Agent ------------------------------------------------------------------------


def test_a_derived_feed_id_keeps_no_secret() -> None:
    """``https://user:hunter2@host/rss?key=SK123`` became an id carrying the password and the API key into
    metric labels, state keys and every alert."""
    derived = default_id(None, "https://user:hunter2@host/rss?key=SK123#frag")
    assert "hunter2" not in derived and "user" not in derived and "sk123" not in derived.lower()
    assert derived.startswith("host-rss-")
    # the query still tells two feeds of one path apart
    assert default_id(None, "https://h/rss?section=world") != default_id(None, "https://h/rss?section=sport")
    assert default_id("BBC World", "https://x.org/rss") == "bbc-world"  # a name gives the id it always gave


def test_three_hundred_feeds_under_one_long_path_all_load(tmp_path: Path) -> None:
    """The URL was cut at 60 characters: a publisher's 300 section feeds were refused as a whole file."""
    base = "https://feeds.example-publisher.com/syndication/rss/v2/sections/international/"
    lines = "".join(f"  - url: {base}section-{i}.xml\n" for i in range(300))
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n{lines}")
    config = load_feeds(path)
    ids = [feed.key for feed in config.feeds]
    assert len(set(ids)) == 300 and all(len(i) <= 60 for i in ids)


def test_the_user_agent_is_configurable_and_names_the_tool_by_default() -> None:
    assert poller_user_agent("").startswith("newswatch/")
    assert poller_user_agent("  acme-monitor/1.0 (ops@acme.example)  ") == "acme-monitor/1.0 (ops@acme.example)"
    with pytest.raises(ValueError, match="printable"):
        poller_user_agent("x\r\nX-Injected: 1")


LOCAL = FetchLimits(refuse_private=False)  # the recording server listens on 127.0.0.1


class RecordingServer(FeedServer):
    """The feed server, remembering the User-Agent of each request."""

    agents: list[str]

    async def _handle(self, request: Any) -> Any:
        self.agents.append(request.headers.get("User-Agent", ""))
        return await super()._handle(request)


def test_the_poller_sends_the_configured_user_agent() -> None:
    feed = b'<rss version="2.0"><channel><title>c</title><item><title>t</title><guid>g</guid></item></channel></rss>'
    with RecordingServer() as server:
        server.agents = []
        server.routes["/rss"] = Route(body=feed)
        config = FeedsConfig.model_validate({"feeds": [{"id": "r", "url": server.url("/rss")}]})
        poller = Poller(config, FakeSink(), options=PollerOptions(limits=LOCAL, user_agent="acme-monitor/1.0"))  # type: ignore[arg-type]
        [outcome] = asyncio.run(poller.poll_once())
    assert outcome.new == 1 and server.agents == ["acme-monitor/1.0"]


def test_a_failure_detail_quoting_the_feed_keeps_no_control_characters(tmp_path: Path) -> None:
    """The refusal quotes the declaration; ``feeds status`` prints the detail on the operator's terminal."""
    path = tmp_path / "esc.xml"
    path.write_bytes(b'<!DOCTYPE rss [<!ENTITY \x1b]0;pwned\x07\x1b[2J "x">]><rss version="2.0"><channel/></rss>')
    poller = poller_for(path, FakeSink())
    [outcome] = asyncio.run(poller.poll_once())
    detail = poller.state["big"].last_error_detail
    assert outcome.error == "entities" and "pwned" in detail
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in detail), repr(detail)
