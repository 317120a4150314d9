"""Poller benchmark: 1,000 feeds on a local HTTP server, mostly 304s, some changed, polled in one cycle.

    .venv/bin/python bench/bench_poller.py [--feeds 1000] [--changed 0.05] [--concurrency 20]

The server runs in a child process so that the CPU time measured is the poller's alone. A warm-up cycle
(articles to a null sink) gives every feed its ETag and seen ids; the measured cycle then sees 304s from
unchanged feeds and a newer snapshot (5 new items) from the changed ones, produced to a real Kafka topic.
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from newswatch.core.http import FetchLimits  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.core.settings import get_settings  # noqa: E402
from newswatch.local.feedserver import FeedServer, Route  # noqa: E402
from newswatch.poller.config import FeedsConfig  # noqa: E402
from newswatch.poller.metrics import PollerMetrics  # noqa: E402
from newswatch.poller.produce import ArticleSink, make_producer  # noqa: E402
from newswatch.poller.run import Poller, PollerOptions  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds"
OLD = FEEDS / "kyivindependent__2024-07-26__plakhovgroup-recompiled.xml"
NEW = FEEDS / "kyivindependent__2024-08-23__plakhovgroup-recompiled.xml"
TINY = b'<rss version="2.0"><channel><title>t</title><item><guid>https://x.org/1</guid></item></channel></rss>'


def serve(count: int, changed: set[int], conn: Any) -> None:
    """Child process: serve ``count`` feeds; after the parent says 'change', swap the changed ones."""
    old, new = OLD.read_bytes(), NEW.read_bytes()
    with FeedServer() as server:
        for i in range(count):
            # unchanged feeds answer 304 in the measured cycle, so their warm-up body can be small
            body = old if i in changed else TINY
            server.routes[f"/feed/{i}"] = Route(body=body, etag=f'"old-{i}"')
        conn.send(server.port)
        conn.recv()
        for i in changed:
            server.routes[f"/feed/{i}"] = Route(body=new, etag=f'"new-{i}"')
        conn.send("changed")
        conn.recv()


class NullSink:
    """Warm-up only: acknowledges everything without Kafka."""

    async def send_all(self, articles: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        return [a["id"] for a in articles], []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of feeds with new items")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    changed = set(range(0, args.feeds, max(1, round(1 / args.changed)))) if args.changed else set()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.feeds, changed, child), daemon=True)
    server.start()
    port = parent.recv()
    config = FeedsConfig.model_validate(
        {"feeds": [{"id": f"feed-{i}", "url": f"http://127.0.0.1:{port}/feed/{i}"} for i in range(args.feeds)]}
    )
    # the feed server is on loopback, which pollers refuse unless it is allowed
    limits = FetchLimits(private_allowed=frozenset({f"127.0.0.1:{port}"}))
    options = PollerOptions(limits=limits, concurrency=args.concurrency)

    bootstrap = get_settings().kafka_bootstrap
    topic = f"bench-articles-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [topic])
    metrics = PollerMetrics(CollectorRegistry())
    poller = Poller(config, NullSink(), options=options, metrics=metrics)  # type: ignore[arg-type]
    asyncio.run(poller.poll_once())  # warm-up: validators and seen ids for every feed

    parent.send("change")
    parent.recv()
    sink = ArticleSink(make_producer(bootstrap), topic, metrics)
    poller.sink = sink
    cpu, wall = time.process_time(), time.perf_counter()
    outcomes = asyncio.run(poller.poll_once())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sink.close()
    parent.send("stop")
    server.join(10)

    not_modified = sum(o.not_modified for o in outcomes)
    new = sum(o.new for o in outcomes)
    failed = sum(1 for o in outcomes if o.error)
    print(f"feeds: {len(outcomes)} ({not_modified} not modified, {len(changed)} changed, {failed} failed)")
    print(f"new articles produced: {new} (expected {5 * len(changed)})")
    print(f"cycle: {wall:.2f} s wall, {len(outcomes) / wall:.0f} feeds/s")
    print(f"CPU: {cpu:.2f} s for the cycle = {cpu * 1000 / len(outcomes):.2f} CPU s per 1,000 polls")
    print(f"machine: {os.cpu_count()} cores; concurrency {args.concurrency}; Kafka {bootstrap}")


if __name__ == "__main__":
    main()
