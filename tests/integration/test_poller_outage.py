"""A 30 s broker outage while the poller runs loses no article: it keeps retrying and delivers all once back.

Uses a private broker (its own home and ports, the shared broker's cached jars) because the shared one is
never stopped.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from newswatch.core.kafka import ensure_topics
from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.kafka import LocalKafka
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.produce import ArticleSink, make_producer
from newswatch.poller.run import Poller, PollerOptions
from newswatch.poller.statestore import ensure_state_topic
from tests.conftest import KAFKA_LIBS
from tests.integration.helpers import free_port
from tests.integration.poller_helpers import allowing, feeds_config, topic_messages

# ~50 s (broker start, 30 s outage, restart): under a minute, so it stays in `make test`
pytestmark = pytest.mark.integration

OUTAGE = 30.0


def cached_jars() -> Path:
    """This checkout's Kafka jars, fetched once by Maven if a reused broker meant they were never needed."""
    LocalKafka(home=KAFKA_LIBS.parent).fetch()
    return KAFKA_LIBS


def rss(count: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>https://example.org/story/{i}</link>"
        f"<guid>https://example.org/story/{i}</guid></item>"
        for i in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Live</title>{items}</channel></rss>'.encode()


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    libs = cached_jars()
    port = free_port()
    kafka = LocalKafka(home=tmp_path / "kafka", port=port, controller_port=free_port(), heap="256m", libs=libs)
    kafka.up(fresh=True)
    try:
        yield kafka
    finally:
        kafka.down()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_broker_outage_of_30_s_loses_no_article(private_kafka: LocalKafka) -> None:
    bootstrap = private_kafka.bootstrap
    ensure_topics(bootstrap, ["articles"])
    ensure_state_topic(bootstrap, "feed-state")
    metrics = PollerMetrics(CollectorRegistry())
    with FeedServer() as server:
        server.routes["/live"] = Route(body=rss(10))
        config = feeds_config({"live": server.url("/live")}, interval=1.0)
        sink = ArticleSink(make_producer(bootstrap), "articles", metrics)
        options = PollerOptions(state_topic="feed-state", limits=allowing(server))
        poller = Poller(config, sink, options=options, metrics=metrics)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        thread = threading.Thread(target=lambda: loop.run_until_complete(poller.run_forever(stop)), daemon=True)
        thread.start()
        try:
            ids = lambda: [m["id"] for m in topic_messages(bootstrap, "articles")]  # noqa: E731
            wait_for(lambda: len(ids()) >= 10, 60, "the first 10 articles")

            private_kafka.down()
            outage_started = time.monotonic()
            count = 10
            while time.monotonic() - outage_started < OUTAGE:  # new stories keep appearing meanwhile
                count += 1
                server.routes["/live"] = Route(body=rss(count))
                time.sleep(2)
            private_kafka.up()
            server.routes["/live"] = Route(body=rss(count + 5))
            expected = {f"https://example.org/story/{i}" for i in range(count + 5)}

            wait_for(lambda: set(ids()) >= expected, 150, f"all {len(expected)} articles after the outage")
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(60)
            sink.close()
    produced = Counter(ids())
    assert set(produced) == expected
    assert max(produced.values()) == 1, [i for i, n in produced.items() if n > 1]
