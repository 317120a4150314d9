"""Hostile servers never crash the poller, never blow its memory, and each failure gets a reason."""

from __future__ import annotations

import gzip
import logging
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from newswatch.core.http import FetchLimits
from newswatch.local.feedserver import FeedServer, Route
from newswatch.poller.metrics import PollerMetrics
from tests.conftest import Topics
from tests.integration.poller_helpers import allowing, feeds_config, run_poller, topic_messages

pytestmark = pytest.mark.integration

GOOD = "kyivindependent__2024-07-26__plakhovgroup-recompiled.xml"
LIMIT = 2 * 1024 * 1024
BOMB = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)  # 50 kB on the wire, 50 MB unpacked


def billion_laughs() -> bytes:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{entities}]>'
        '<rss version="2.0"><channel><title>&l9;</title><item><title>&l9;</title><guid>x</guid></item>'
        "</channel></rss>"
    ).encode()


@pytest.fixture
def server(shared_data: Path) -> Iterator[FeedServer]:
    good = (shared_data / "feeds" / GOOD).read_bytes()
    with FeedServer() as running:
        running.routes.update(
            {
                "/good": Route(body=good),
                "/good-gzip": Route(body=good, gzip=True),
                "/moved": Route(redirect="/good"),
                "/laughs": Route(body=billion_laughs()),
                "/declared-huge": Route(body=b"<rss>" + b" " * (LIMIT + 1)),
                "/endless": Route(endless=True),
                "/gzip-bomb": Route(body=BOMB, headers={"Content-Encoding": "gzip"}),
                "/trickle": Route(body=good[:5000], trickle=0.05),
                "/loop-a": Route(redirect="/loop-b"),
                "/loop-b": Route(redirect="/loop-a"),
                "/to-file": Route(redirect="file:///etc/passwd"),
                "/html": Route(
                    body=b"<html><body><h1>Service unavailable</h1></body></html>", content_type="text/html"
                ),
                "/empty": Route(body=b""),
                "/error": Route(status=500, body=b"oops"),
                "/busy": Route(status=429, body=b"slow down", headers={"Retry-After": "120"}),
            }
        )
        yield running


def test_hostile_feeds_get_a_reason_each_and_memory_stays_bounded(
    kafka_bootstrap: str, topics: Topics, server: FeedServer
) -> None:
    config = feeds_config({path.strip("/"): server.url(path) for path in server.routes})
    # Generous for a loaded 2-core CI machine (tracemalloc slows every fetch); the trickle is still cut by it.
    limits = allowing(server, max_bytes=LIMIT, deadline=12.0, read_timeout=4.0)
    metrics = PollerMetrics(CollectorRegistry())
    tracemalloc.start()
    try:
        started = time.monotonic()
        [outcomes] = run_poller(config, kafka_bootstrap, topics.articles, None, limits=limits, metrics=metrics)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    got = {o.feed_id: (o.new, o.error) for o in outcomes}
    assert got["good"] == got["good-gzip"] == got["moved"] == (20, None)
    assert got["laughs"] == (0, "entities")  # refused, not expanded (issue 17) ...
    assert all(len(m["title"]) < 10_000 for m in topic_messages(kafka_bootstrap, topics.articles))  # ... not 3 GB
    assert got["declared-huge"] == got["endless"] == got["gzip-bomb"] == (0, "too_large")
    assert got["trickle"] == (0, "timeout")
    assert got["loop-a"] == got["loop-b"] == (0, "redirects")
    assert got["to-file"] == (0, "bad_redirect")
    assert got["html"] == (0, "not_a_feed")
    assert got["empty"] == (0, "empty")
    assert got["error"] == (0, "http_500")
    assert got["busy"] == (0, "http_429")
    assert elapsed < 30, "the trickling server held the poll past its deadline"
    # Three bodies cut at 2 MB while other feeds parse: far below what the endless body or the gzip bomb
    # (50 MB decompressed) would take without the cap.
    assert peak < 30 * 1024 * 1024, f"peak traced memory {peak / 1e6:.0f} MB"
    sample = metrics.registry.get_sample_value
    assert sample("newswatch_poller_fetches_total", {"feed": "endless", "outcome": "too_large"}) == 1
    assert sample("newswatch_poller_feeds_in_backoff") == 12


def test_retry_after_and_back_off_set_the_next_poll(server: FeedServer) -> None:
    import asyncio

    from newswatch.poller.run import Poller, PollerOptions

    class NoSink:
        async def send_all(self, articles: list) -> tuple[list, list]:
            return [a["id"] for a in articles], []

    config = feeds_config({"busy": server.url("/busy"), "error": server.url("/error")}, interval=10)
    poller = Poller(config, NoSink(), options=PollerOptions(limits=allowing(server)))  # type: ignore[arg-type]
    before = time.time()
    for _ in range(3):
        asyncio.run(poller.poll_once())
    assert poller.state["busy"].next_poll - before >= 120  # Retry-After beats the back-off of 80 s
    assert 70 <= poller.state["error"].next_poll - before <= 90  # 10 s doubled 3 times, ±10 %
    assert poller.state["error"].failures == 3


def test_a_failure_is_logged_once_per_change_of_state(
    server: FeedServer, caplog: pytest.LogCaptureFixture, kafka_bootstrap: str, topics: Topics
) -> None:
    config = feeds_config({"flaky": server.url("/flaky")})
    server.routes["/flaky"] = Route(status=500)
    metrics = PollerMetrics(CollectorRegistry())
    with caplog.at_level(logging.INFO, logger="newswatch.poller.run"):
        run_poller(config, kafka_bootstrap, topics.articles, None, polls=3, metrics=metrics, limits=allowing(server))
    failing = [r.getMessage() for r in caplog.records if "failing" in r.getMessage()]
    assert len(failing) == 1 and "http_500" in failing[0]
    assert (
        metrics.registry.get_sample_value("newswatch_poller_fetches_total", {"feed": "flaky", "outcome": "http_500"})
        == 3
    )


def test_private_network_targets_are_refused_when_the_setting_says_so(
    server: FeedServer, kafka_bootstrap: str, topics: Topics
) -> None:
    config = feeds_config({"local": server.url("/good")})
    [[outcome]] = run_poller(config, kafka_bootstrap, topics.articles, None, limits=FetchLimits(refuse_private=True))
    assert outcome.error == "private_address"
    assert server.hits["/good"] == 0  # refused before connecting
