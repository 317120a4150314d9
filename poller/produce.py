"""Send articles to the ``articles`` topic with kafka-python: acks=all, idempotent, retried, never dropped silently."""

from __future__ import annotations

import json
import logging
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from newswatch.kafka_admin import UNREACHABLE, KafkaUnavailable

log = logging.getLogger(__name__)


def make_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every in-sync replica and retries without duplicating (idempotence)."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "bootstrap_timeout_ms": 10_000,
        "acks": "all",
        "enable_idempotence": True,
        "retries": 2_147_483_647,
        "delivery_timeout_ms": 120_000,
        "linger_ms": 20,
        "compression_type": "gzip",
        "max_request_size": 1_048_576,
    }
    options.update(overrides)
    try:
        return KafkaProducer(**options)
    except UNREACHABLE as exc:
        raise KafkaUnavailable(bootstrap, type(exc).__name__) from None


def encode(article: dict[str, Any]) -> bytes:
    """The JSON bytes of an article as they go on the topic."""
    return json.dumps(article, ensure_ascii=False).encode("utf-8")


class ArticleSink:
    """Produces articles and tells which ones Kafka acknowledged, so only those count as seen."""

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    def send_all(self, articles: list[dict[str, Any]], timeout: float = 60.0) -> tuple[list[str], list[str]]:
        """Send ``articles`` and wait for each ack; return (acknowledged ids, failed ids)."""
        futures = [(a["id"], self.producer.send(self.topic, key=a["id"].encode(), value=encode(a))) for a in articles]
        self.producer.flush(timeout=timeout)
        done, failed = [], []
        for article_id, future in futures:
            try:
                future.get(timeout=timeout)
                done.append(article_id)
            except KafkaError as exc:
                log.error("article %s not produced (%s); it will be retried next poll", article_id, exc)
                failed.append(article_id)
        return done, failed

    def close(self) -> None:
        self.producer.close(timeout=10)
