"""The poller over real HTTP (a local server in the test process) into the real broker: exactly once, 304s."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from newswatch.local.feedserver import FeedServer, Route
from newswatch.poller.metrics import PollerMetrics
from tests.conftest import Topics
from tests.integration.poller_helpers import allowing, feeds_config, run_poller, state_topic, topic_messages

pytestmark = pytest.mark.integration

KYIV_OLD = "kyivindependent__2024-07-26__plakhovgroup-recompiled.xml"
KYIV_NEW = "kyivindependent__2024-08-23__plakhovgroup-recompiled.xml"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def real_feeds(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "feeds").glob("*"))


def test_real_feeds_are_produced_exactly_once_across_polls_and_a_restart(
    kafka_bootstrap: str, topics: Topics, shared_data: Path, server: FeedServer
) -> None:
    # No validators: every poll downloads and parses the whole feed, so only the seen ids prevent duplicates.
    urls = {}
    for path in real_feeds(shared_data):
        server.routes[f"/{path.name}"] = Route(body=path.read_bytes())
        urls[path.name.split("__")[0] + "-" + path.name.split("__")[1]] = server.url(f"/{path.name}")
    config = feeds_config(urls)
    states = state_topic(kafka_bootstrap)

    limits = allowing(server)
    first = run_poller(config, kafka_bootstrap, topics.articles, states, polls=2, limits=limits)
    restarted = run_poller(config, kafka_bootstrap, topics.articles, states, limits=limits)  # a new process

    assert all(o.error is None for poll in first + restarted for o in poll)
    new_per_poll = [sum(o.new for o in poll) for poll in [*first, *restarted]]
    messages = topic_messages(kafka_bootstrap, topics.articles)
    per_feed = Counter((m["feed_id"], m["id"]) for m in messages)
    assert max(per_feed.values()) == 1, [k for k, n in per_feed.items() if n > 1][:5]
    assert new_per_poll[0] == len(messages) > 800 and new_per_poll[1:] == [0, 0]
    assert all(server.hits[f"/{p.name}"] == 3 for p in real_feeds(shared_data))


def test_kyiv_independent_second_snapshot_yields_exactly_its_five_new_items(
    kafka_bootstrap: str, topics: Topics, shared_data: Path, server: FeedServer
) -> None:
    feeds = shared_data / "feeds"
    server.routes["/kyiv"] = Route(body=(feeds / KYIV_OLD).read_bytes(), etag='"v1"')
    config = feeds_config({"kyiv": server.url("/kyiv")})
    states = state_topic(kafka_bootstrap)

    [[first]] = run_poller(config, kafka_bootstrap, topics.articles, states, limits=allowing(server))
    server.routes["/kyiv"] = Route(body=(feeds / KYIV_NEW).read_bytes(), etag='"v2"')
    [[second]] = run_poller(config, kafka_bootstrap, topics.articles, states, limits=allowing(server))

    assert (first.new, second.new) == (20, 5)
    assert server.conditional["/kyiv"] == 1  # the second poll sent the first poll's ETag
    messages = topic_messages(kafka_bootstrap, topics.articles)
    assert len(messages) == len({m["id"] for m in messages}) == 25


def test_not_modified_costs_no_messages(
    kafka_bootstrap: str, topics: Topics, shared_data: Path, server: FeedServer
) -> None:
    body = (shared_data / "feeds" / KYIV_OLD).read_bytes()
    server.routes["/etag"] = Route(body=body, etag='"abc"')
    server.routes["/lastmod"] = Route(body=body, last_modified="Fri, 26 Jul 2024 10:00:00 GMT")
    server.routes["/always-304"] = Route(always_304=True)
    metrics = PollerMetrics(CollectorRegistry())
    config = feeds_config({k: server.url(f"/{k}") for k in ("etag", "lastmod", "always-304")})

    polls = run_poller(
        config, kafka_bootstrap, topics.articles, None, metrics=metrics, polls=3, limits=allowing(server)
    )

    outcomes = {o.feed_id: [] for o in polls[0]}
    for poll in polls:
        for o in poll:
            outcomes[o.feed_id].append((o.new, o.not_modified, o.error))
    assert outcomes["always-304"] == [(0, True, None)] * 3
    assert outcomes["etag"] == outcomes["lastmod"] == [(20, False, None), (0, True, None), (0, True, None)]
    assert len(topic_messages(kafka_bootstrap, topics.articles)) == 40  # the two first polls, nothing else
    fetches = metrics.registry.get_sample_value
    assert fetches("newswatch_poller_fetches_total", {"feed": "etag", "outcome": "304"}) == 2
    assert fetches("newswatch_poller_fetches_total", {"feed": "etag", "outcome": "200"}) == 1
    assert fetches("newswatch_poller_items_new_total", {"feed": "lastmod"}) == 20


def test_every_feedparser_corpus_file_goes_through_while_real_feeds_keep_being_polled(
    kafka_bootstrap: str, topics: Topics, shared_data: Path, server: FeedServer
) -> None:
    corpus = sorted(p for p in (shared_data / "feedparser-tests").rglob("*") if p.is_file())
    assert len(corpus) > 2000
    urls = {}
    for index, path in enumerate(corpus):
        server.routes[f"/corpus/{index}"] = Route(body=path.read_bytes(), content_type="application/xml")
        urls[f"corpus-{index}"] = server.url(f"/corpus/{index}")
    # the real feeds sit at the end of the list: they are polled in the same cycle as 2,000 odd files
    for name in (KYIV_OLD, "bbc_world__2026-08-13T0424Z__cloudphone.xml"):
        server.routes[f"/{name}"] = Route(body=(shared_data / "feeds" / name).read_bytes())
        urls[name] = server.url(f"/{name}")
    metrics = PollerMetrics(CollectorRegistry())

    [outcomes] = run_poller(
        feeds_config(urls), kafka_bootstrap, topics.articles, None, metrics=metrics, limits=allowing(server)
    )

    reasons = Counter(o.error for o in outcomes)
    assert "internal" not in reasons, [o for o in outcomes if o.error == "internal"][:5]
    assert set(reasons) <= {None, "empty", "parse", "not_a_feed", "entities"}, reasons
    assert reasons["entities"] <= 2  # the corpus's two documents declaring an entity: refused (issue 17)
    by_id = {o.feed_id: o for o in outcomes}
    assert by_id[KYIV_OLD].new == 20 and by_id["bbc_world__2026-08-13T0424Z__cloudphone.xml"].new == 28
    assert reasons[None] > 1500  # most of the corpus is feeds
