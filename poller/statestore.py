"""The compacted ``feed-state`` topic: one record per feed (key = feed id), read back whole on start.

State lives where the data lives: a restarted poller, or a second poller taking over a shard, reads the
latest record of every feed and carries on without producing anything twice. Compaction keeps the topic at
one record per feed however long the poller runs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import TopicPartition

from newswatch.core.kafka import KafkaUnavailable, ensure_topics
from newswatch.core.kafka import consumer as kafka_consumer
from newswatch.poller.state import FeedState

log = logging.getLogger(__name__)

TOPIC_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


def ensure_state_topic(bootstrap: str, topic: str, *, replication: int = 1, min_insync: int = 0) -> None:
    """Create the compacted state topic if it is missing (one partition: it is small and read whole), with as
    many copies as the other topics: on a cluster, one broker down must not stop the pollers' state writes."""
    config = {**TOPIC_CONFIG, **({"min.insync.replicas": str(min_insync)} if min_insync else {})}
    ensure_topics(bootstrap, [topic], partitions=1, replication=replication, configs={topic: config})


def read_states(bootstrap: str, topic: str, *, timeout: float = 60.0) -> dict[str, FeedState]:
    """Every feed's latest state record, read from the beginning of ``topic`` to its current end.

    A record that cannot be read (written by a newer, incompatible poller, or corrupt) is skipped with a
    warning: that feed starts afresh rather than stopping the poller.
    """
    consumer = kafka_consumer(bootstrap, group_id=None, request_timeout_ms=30_000)
    states: dict[str, FeedState] = {}
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return states
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        end = consumer.end_offsets(assigned)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise KafkaUnavailable(bootstrap, f"reading {topic} did not finish within {timeout:.0f} s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    _apply(states, record)
    finally:
        consumer.close()
    return states


def _apply(states: dict[str, FeedState], record: Any) -> None:
    if record.key is None:
        return
    feed_id = record.key.decode("utf-8", "replace")
    if record.value is None:  # a tombstone: the feed was removed
        states.pop(feed_id, None)
        return
    try:
        states[feed_id] = FeedState.from_json(record.value)
    except (ValueError, TypeError) as exc:
        log.warning("feed-state record for %s unreadable (%s); the feed starts afresh", feed_id, exc)
