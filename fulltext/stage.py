"""The full-text stage's Kafka loop: teasers in, articles out, each offset committed only once its article is on
``articles`` and acknowledged (at least once: a crash re-reads, never loses).

Pages are read concurrently (``in_flight`` at once, any order) by the loop of newswatch.core.inflight: a
partition's committed offset is the lowest still in flight, so a slow page holds back commits, never other articles.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from newswatch.core.inflight import InFlightStage
from newswatch.fulltext.enrich import with_page, without_page
from newswatch.fulltext.metrics import FulltextMetrics
from newswatch.fulltext.pages import Page, PageReader

log = logging.getLogger(__name__)

SEND_RETRY = 2.0  # seconds between tries of a send Kafka did not acknowledge


@dataclass(frozen=True)
class StageTopics:
    """Where the stage reads and writes, and its consumer group."""

    bootstrap: str
    teasers: str
    articles: str
    group: str
    # TLS/SASL options of both clients (newswatch.core.kafka_security.KafkaSecurity.aiokafka())
    client_options: dict[str, Any] = field(default_factory=dict)


def decode(value: bytes | None) -> dict[str, Any] | None:
    """The article in a teasers message, or None when it is not a JSON object (passed on as it is)."""
    try:
        article = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None
    return article if isinstance(article, dict) else None


def encode(article: dict[str, Any]) -> bytes:
    """The JSON bytes of an article as they go on the topic (as the poller writes them).

    A lone surrogate (``"\\ud800"`` in the JSON it came as) cannot be UTF-8: such an article is written with
    ASCII escapes instead, as valid JSON, and left to the classify agent's checks.
    """
    try:
        return json.dumps(article, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(article, ensure_ascii=True).encode("ascii")


class FulltextStage(InFlightStage):
    """Consume teasers, read their pages, produce the articles; ``await stage.run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        topics: StageTopics,
        reader: PageReader,
        metrics: FulltextMetrics,
        *,
        in_flight: int = 32,
        grace: float = 25.0,
    ) -> None:
        super().__init__(
            topics.teasers,
            metrics.in_flight,
            bootstrap=topics.bootstrap,
            group=topics.group,
            auto_offset_reset="earliest",
            client_options=topics.client_options,
            in_flight=in_flight,
            grace=grace,
        )
        self.topics = topics
        self.reader = reader
        self.metrics = metrics

    def new_producer(self) -> AIOKafkaProducer:
        """The articles producer (gzip: pages make long articles)."""
        t = self.topics
        return AIOKafkaProducer(
            bootstrap_servers=t.bootstrap,
            acks="all",
            enable_idempotence=True,
            compression_type="gzip",
            linger_ms=5,
            max_request_size=1_048_576,
            **t.client_options,
        )

    async def process(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        """Read the teaser's page and send the article on (as it came when it cannot be read)."""
        try:
            out = await self._enrich(value)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug of ours must cost one page, not the partition's progress
            log.warning("teaser at %s:%d passed on as it came", tp.topic, offset, exc_info=True)
            out = value or b""
        await self._send(key, out)

    async def _enrich(self, value: bytes | None) -> bytes:
        article = decode(value)
        if article is None:
            # not ours to judge: the classify agent dead-letters malformed articles with the reason
            self.metrics.not_articles.inc()
            return value or b""
        url = article.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            enriched = with_page(article, await self._read(url))
        else:
            self.metrics.pages.labels("no_link").inc()
            enriched = without_page(article, "no_link")
        self.metrics.articles.labels(enriched["text_source"]).inc()
        return encode(enriched)

    async def _read(self, url: str) -> Page:
        try:
            return await self.reader.read(url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours must cost one page, not the partition's progress
            log.warning("reading %s failed unexpectedly", url[:200], exc_info=True)
            self.metrics.pages.labels("internal").inc()
            return Page("internal", url=url, detail=f"{type(exc).__name__}: {exc}"[:300])

    async def _send(self, key: bytes | None, value: bytes) -> None:
        assert self.producer is not None
        while True:
            try:
                await self.producer.send_and_wait(self.topics.articles, value=value, key=key)
                return
            except KafkaError as exc:
                self.metrics.send_errors.inc()
                if self._stopping:
                    raise  # left uncommitted: read again after the restart
                log.warning("article not acknowledged by Kafka (%s); trying again", type(exc).__name__)
                await asyncio.sleep(SEND_RETRY)
