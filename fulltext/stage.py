"""The full-text stage's Kafka loop: teasers in, articles out, each offset committed only once its article is on
``articles`` and acknowledged (at least once: a crash re-reads, never loses).

Pages are read concurrently (``in_flight`` at once, any order); a partition's committed offset is the lowest
offset still in flight, so a slow page holds back commits, never other articles.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from newswatch.core.offsets import Offsets
from newswatch.fulltext.enrich import with_page, without_page
from newswatch.fulltext.metrics import FulltextMetrics
from newswatch.fulltext.pages import Page, PageReader

log = logging.getLogger(__name__)

COMMIT_EVERY = 1.0  # seconds
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


class FulltextStage:
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
        self.topics = topics
        self.reader = reader
        self.metrics = metrics
        self.in_flight = max(1, in_flight)
        self.grace = grace
        self.offsets = Offsets()
        self.tasks: dict[tuple[TopicPartition, int], asyncio.Task[None]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._stopping = False

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; articles in flight then get ``grace`` seconds to finish."""
        t = self.topics
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=t.bootstrap,
            group_id=t.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # pages take seconds; the loop keeps polling (paused partitions) so this is never reached in practice
            max_poll_interval_ms=600_000,
            **t.client_options,
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=t.bootstrap,
            acks="all",
            enable_idempotence=True,
            compression_type="gzip",
            linger_ms=5,
            max_request_size=1_048_576,
            **t.client_options,
        )
        await self.producer.start()
        try:
            self.consumer.subscribe([t.teasers], listener=_Revoked(self))
            await self.consumer.start()
            try:
                await self._loop(stop)
            finally:
                await self._drain(self.grace)
                await self._commit()
                await self.consumer.stop()
        finally:
            await self.producer.stop()

    async def _loop(self, stop: asyncio.Event) -> None:
        assert self.consumer is not None
        last_commit = asyncio.get_running_loop().time()
        paused = False
        while not stop.is_set():
            free = self.in_flight - len(self.tasks)
            assigned = self.consumer.assignment()
            if free <= 0 and not paused:
                self.consumer.pause(*assigned)
                paused = True
            elif free > 0 and paused:
                self.consumer.resume(*assigned)
                paused = False
            batches = await self.consumer.getmany(timeout_ms=200, max_records=max(1, free))
            for tp, records in batches.items():
                for record in records:
                    self.offsets.started(tp, record.offset)
                    key = (tp, record.offset)
                    self.tasks[key] = asyncio.create_task(self._handle(tp, record.offset, record.key, record.value))
            now = asyncio.get_running_loop().time()
            if now - last_commit >= COMMIT_EVERY:
                last_commit = now
                await self._commit()

    async def _handle(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.metrics.in_flight.inc()
        try:
            try:
                out = await self._enrich(value)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug of ours must cost one page, not the partition's progress
                log.warning("teaser at %s:%d passed on as it came", tp.topic, offset, exc_info=True)
                out = value or b""
            await self._send(key, out)
            self.offsets.finished(tp, offset)
        finally:
            self.metrics.in_flight.dec()
            self.tasks.pop((tp, offset), None)

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

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        assert self.consumer is not None
        offsets = self.offsets.committable(partitions)
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance or an outage: committed at the next chance, read again at worst
            log.info("offsets not committed (%s); committed later", type(exc).__name__)
            return
        self.offsets.committed.update(offsets)

    async def _drain(self, grace: float, partitions: set[TopicPartition] | None = None) -> None:
        """Let the articles in flight (of ``partitions``, default all) finish within ``grace``, then cancel the rest."""
        self._stopping = partitions is None
        tasks = [task for (tp, _), task in list(self.tasks.items()) if partitions is None or tp in partitions]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Before another instance takes ``partitions``: finish their articles, commit, forget them."""
        await self._drain(self.grace, partitions)
        await self._commit(partitions)
        self.offsets.forget(partitions)


class _Revoked(ConsumerRebalanceListener):
    def __init__(self, stage: FulltextStage) -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.stage.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
