"""Run the full-text stage in-process against the test broker, with pages served over local HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from newswatch.core.http import FetchLimits, make_client
from newswatch.core.kafka import ensure_topics
from newswatch.fulltext.extract import ExtractLimits, Extractor
from newswatch.fulltext.metrics import FulltextMetrics
from newswatch.fulltext.pages import PAGE_TYPES, PageReader, ReaderOptions
from newswatch.fulltext.stage import FulltextStage, StageTopics
from newswatch.local.feedserver import FeedServer

# Real news pages whose article body story_page() replaces cleanly (checked: trafilatura gives back the story
# with under 40 stray words); their navigation, banners, related lists and footers stay.
TEMPLATES = (
    "reuters.com.parasite",
    "theguardian.com.academics",
    "dw.com.uncork",
    "mercurynews.com.2023.01.16.letters-1119",
    "heise.de.lithium",
)


def templates(shared_data: Path) -> list[bytes]:
    """The template pages' HTML."""
    return [(shared_data / "pages" / f"{name}.html").read_bytes() for name in TEMPLATES]


def local_options(server: FeedServer, **changes: Any) -> ReaderOptions:
    """Reader options for pages on the test server: its address allowed, no pause between fetches."""
    limits = changes.pop("limits", None) or FetchLimits(
        max_bytes=5 * 1024 * 1024,
        deadline=20.0,
        refuse_private=True,
        private_allowed=frozenset({f"127.0.0.1:{server.port}"}),
    )
    return ReaderOptions(limits=limits, **{"per_host": 8, "host_interval": 0.0, "backoff": 0.05, **changes})


def teasers_topic(bootstrap: str, topics_articles: str) -> str:
    """A fresh teasers topic beside a test's articles topic."""
    name = f"teasers-{topics_articles}"
    ensure_topics(bootstrap, [name])
    return name


def produce(bootstrap: str, topic: str, articles: list[dict[str, Any] | bytes]) -> None:
    """Put ``articles`` on ``topic`` (bytes as they are), acknowledged."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for article in articles:
            value = article if isinstance(article, bytes) else json.dumps(article).encode()
            key = None if isinstance(article, bytes) else article["id"].encode()
            producer.send(topic, key=key, value=value)
        producer.flush(30)
    finally:
        producer.close()


def run_stage(
    bootstrap: str,
    teasers: str,
    articles: str,
    expected: int,
    options: ReaderOptions,
    *,
    metrics: FulltextMetrics | None = None,
    timeout: float = 120.0,
    extract: ExtractLimits | None = None,
    in_flight: int = 32,
) -> tuple[FulltextMetrics, float]:
    """Run a stage until it has passed ``expected`` articles on (or ``timeout``); (its metrics, seconds taken)."""
    metrics = metrics or FulltextMetrics(CollectorRegistry())

    def passed() -> float:
        return sum(
            sample(metrics, "newswatch_fulltext_articles_total", {"text_source": s}) for s in ("page", "feed")
        ) + (sample(metrics, "newswatch_fulltext_not_articles_total"))

    async def main() -> float:
        stop = asyncio.Event()
        extractor = Extractor(2, extract or ExtractLimits(timeout=20.0))
        started = time.monotonic()
        try:
            async with make_client(options.limits, max_connections=in_flight, accept=PAGE_TYPES) as client:
                reader = PageReader(client, extractor, metrics, options)
                topics = StageTopics(bootstrap, teasers, articles, f"fulltext-{teasers}")
                stage = FulltextStage(topics, reader, metrics, in_flight=in_flight, grace=5.0)
                task = asyncio.create_task(stage.run(stop))
                while passed() < expected and time.monotonic() - started < timeout and not task.done():
                    await asyncio.sleep(0.05)
                took = time.monotonic() - started
                stop.set()
                await task
                return took
        finally:
            extractor.close()

    return metrics, asyncio.run(main())


def sample(metrics: FulltextMetrics, name: str, labels: dict[str, str] | None = None) -> float:
    """One sample of the stage's registry (0 when absent)."""
    return metrics.registry.get_sample_value(name, labels or {}) or 0.0
