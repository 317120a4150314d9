"""Topic declarations. Values stay raw bytes: agents decode them themselves, so a malformed message is
skipped and counted instead of raising inside Faust's deserializer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import faust
from aiokafka.structs import TopicPartition
from faust import TopicT

from newswatch.core.settings import Settings
from newswatch.streams.app import matches_topic_name


def _raw_topic(app: faust.App, name: str, **options: object) -> TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", **options)


@dataclass
class Topics:
    """The worker's topics, declared on one app."""

    app: faust.App
    articles: TopicT
    alerts: TopicT
    # classify -> route: one message per (article, matched rule), keyed by rule id, so that every match of a rule
    # is decided in one partition, next to that rule's dedup/escalation state.
    matches: TopicT
    dead_letter: TopicT | None
    _rule_topics: dict[str, TopicT] = field(default_factory=dict)

    def rule_topic(self, name: str) -> TopicT:
        """The topic a rule's ``topic:`` sends its alerts to (besides ``alerts``)."""
        if name not in self._rule_topics:
            self._rule_topics[name] = _raw_topic(self.app, name)
        return self._rule_topics[name]


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    """Declare the worker's topics on ``app`` (creating them on the broker is ``newswatch worker``'s job)."""
    return Topics(
        app=app,
        articles=_raw_topic(app, settings.articles_topic),
        alerts=_raw_topic(app, settings.alerts_topic),
        matches=_raw_topic(app, matches_topic_name(settings), internal=True, partitions=settings.topic_partitions),
        dead_letter=_raw_topic(app, settings.dead_letter_topic) if settings.dead_letter_topic else None,
    )


async def await_producer_leaders(app: faust.App, names: Iterable[str], timeout: float = 30.0) -> list[str]:
    """Wait until the app's producer knows a leader for every partition of ``names``; return those still without.

    Why: the first send to a topic the producer has no metadata for (a rule's new topic, just created) leaves a
    batch with no known leader in aiokafka's accumulator, and while it waits for metadata, a batch queued for
    another topic of the same broker was seen to stay unsent until the next message came (a match held for a
    minute, tests/integration/test_rules_live.py). Learning the new topics' leaders before the rules that send
    there go live keeps the sends on known partitions.
    """
    producer = app.producer._ensure_producer()  # aiokafka's producer: its metadata is the one the sends use
    cluster = producer.client.cluster
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            try:
                partitions = await asyncio.wait_for(producer.partitions_for(name), deadline - time.monotonic())
            except Exception:  # noqa: BLE001 - not known yet (or timed out): asked again below until the deadline
                continue
            if all(cluster.leader_for_partition(TopicPartition(name, p)) not in (None, -1) for p in partitions):
                pending.discard(name)
        if pending:
            await producer.client.force_metadata_update()
            await asyncio.sleep(0.1)
    return sorted(pending)
