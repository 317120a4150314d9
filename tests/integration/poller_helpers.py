"""Build pollers against the test broker and read back exactly what they produced."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from newswatch.core.http import FetchLimits
from newswatch.local.feedserver import FeedServer
from newswatch.poller.config import FeedsConfig
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.produce import ArticleSink, make_producer
from newswatch.poller.run import Poller, PollerOptions, PollOutcome
from newswatch.poller.statestore import ensure_state_topic, read_states


def feeds_config(urls: dict[str, str], interval: float = 300.0) -> FeedsConfig:
    """A FeedsConfig of ``{feed id: url}``, validated like the YAML file would be."""
    return FeedsConfig.model_validate({"feeds": [{"id": k, "url": v, "interval": interval} for k, v in urls.items()]})


def allowing(server: FeedServer, **changes: Any) -> FetchLimits:
    """Fetch limits (the defaults, or ``changes``) that let the pollers reach this test's local feed server, and
    only it, past the refusal of private addresses."""
    return FetchLimits(private_allowed=frozenset({f"127.0.0.1:{server.port}"}), **changes)


def state_topic(bootstrap: str) -> str:
    """A fresh compacted feed-state topic for one test."""
    name = f"feed-state-test-{uuid.uuid4().hex[:10]}"
    ensure_state_topic(bootstrap, name)
    return name


def run_poller(
    config: FeedsConfig,
    bootstrap: str,
    articles: str,
    states_topic: str | None,
    *,
    limits: FetchLimits | None = None,
    metrics: PollerMetrics | None = None,
    polls: int = 1,
    teasers: str | None = None,
) -> list[list[PollOutcome]]:
    """A fresh poller process-equivalent: its own producer, state read back from ``states_topic``; poll ``polls``×."""
    states = read_states(bootstrap, states_topic) if states_topic else {}
    sink = ArticleSink(make_producer(bootstrap), articles, metrics)
    options = PollerOptions(limits=limits or FetchLimits(), state_topic=states_topic, teasers_topic=teasers)
    poller = Poller(config, sink, options=options, states=states, metrics=metrics or PollerMetrics(CollectorRegistry()))
    try:
        return [asyncio.run(poller.poll_once()) for _ in range(polls)]
    finally:
        sink.close()


def topic_records(bootstrap: str, topic: str, timeout: float = 60.0) -> list[Any]:
    """Every record on ``topic`` now (all partitions, from the start to the current end); fails after ``timeout``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"{topic}: read {len(found)} records, not to the end, in {timeout} s"
            for records in consumer.poll(timeout_ms=500).values():
                found.extend(records)
        return found
    finally:
        consumer.close()


def topic_values(bootstrap: str, topic: str) -> list[bytes]:
    """Every message value on ``topic`` now (all partitions, from the start to the current end), as bytes."""
    return [record.value for record in topic_records(bootstrap, topic)]


def topic_messages(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every message on ``topic`` now (all partitions, from the start to the current end), JSON-decoded."""
    return [json.loads(value) for value in topic_values(bootstrap, topic)]
