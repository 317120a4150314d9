"""Send articles and feed state with kafka-python: acks=all, idempotent, retried, never dropped silently.

kafka-python is synchronous; its futures are bridged to asyncio here so that waiting for acknowledgements
never blocks the poll loop, and only ``send()`` (which can block while the broker is away) runs in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from newswatch.core.kafka import producer
from newswatch.poller.metrics import PollerMetrics

log = logging.getLogger(__name__)

# kafka-python keeps retrying a send inside this window (broker restarts, leader changes); only after it
# does a send count as failed, and the poller then re-sends it on the feed's next poll.
DELIVERY_TIMEOUT_MS = 120_000


def make_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every in-sync replica and retries without duplicating (idempotence)."""
    options: dict[str, Any] = {
        "bootstrap_timeout_ms": 10_000,
        "acks": "all",
        "enable_idempotence": True,
        "retries": 2_147_483_647,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        "linger_ms": 20,
        "compression_type": "gzip",
        "max_request_size": 1_048_576,
        # send() blocks this long for metadata when the broker is away; it runs in a worker thread
        "max_block_ms": 30_000,
        "reconnect_backoff_max_ms": 2_000,
    }
    options.update(overrides)
    return producer(bootstrap, **options)


def encode(article: dict[str, Any]) -> bytes:
    """The JSON bytes of an article as they go on the topic."""
    return json.dumps(article, ensure_ascii=False).encode("utf-8")


def acked(future: Any, loop: asyncio.AbstractEventLoop) -> asyncio.Future[BaseException | None]:
    """An asyncio future resolving to None when Kafka acknowledged ``future``, or to the send's exception."""
    done: asyncio.Future[BaseException | None] = loop.create_future()

    def settle(value: BaseException | None) -> None:
        if not done.done():
            done.set_result(value)

    future.add_callback(lambda _metadata: loop.call_soon_threadsafe(settle, None))
    future.add_errback(lambda exc: loop.call_soon_threadsafe(settle, exc))
    return done


class ArticleSink:
    """Produces articles and tells which ones Kafka acknowledged, so only those count as seen."""

    def __init__(self, producer: KafkaProducer, topic: str, metrics: PollerMetrics | None = None) -> None:
        self.producer = producer
        self.topic = topic
        self.metrics = metrics

    def _send_each(self, articles: list[dict[str, Any]], topics: list[str]) -> list[Any]:
        sent: list[Any] = []
        for article, topic in zip(articles, topics, strict=True):
            try:
                sent.append(self.producer.send(topic, key=article["id"].encode(), value=encode(article)))
            except KafkaError as exc:  # no metadata within max_block_ms, or a record over the size limit
                sent.append(exc)
        return sent

    async def send_all(
        self, articles: list[dict[str, Any]], topics: list[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Send ``articles`` (each to its entry of ``topics``; default the articles topic) and wait for each ack;
        return (acknowledged ids, failed ids)."""
        loop = asyncio.get_running_loop()
        sent = await asyncio.to_thread(self._send_each, articles, topics or [self.topic] * len(articles))
        waits = [acked(s, loop) if not isinstance(s, BaseException) else None for s in sent]
        outcomes = [s if w is None else await w for s, w in zip(sent, waits, strict=True)]
        done, failed = [], []
        for article, error in zip(articles, outcomes, strict=True):
            if error is None:
                done.append(article["id"])
                continue
            failed.append(article["id"])
            if self.metrics:
                self.metrics.produce_errors.labels(type(error).__name__).inc()
        if failed:
            log.error(
                "%d of %d articles not acknowledged (%s); they are sent again on the feed's next poll",
                len(failed),
                len(articles),
                type(next(o for o in outcomes if o is not None)).__name__,
            )
        return done, failed

    async def send_state(self, topic: str, feed_id: str, value: bytes) -> BaseException | None:
        """Write one feed-state record and wait for the ack; the exception when Kafka did not take it."""
        loop = asyncio.get_running_loop()

        def send() -> Any:
            try:
                return self.producer.send(topic, key=feed_id.encode(), value=value)
            except KafkaError as exc:
                return exc

        future = await asyncio.to_thread(send)
        if isinstance(future, BaseException):
            return future
        return await acked(future, loop)

    def close(self) -> None:
        """Flush what is queued and close the producer."""
        self.producer.close(timeout=10)
