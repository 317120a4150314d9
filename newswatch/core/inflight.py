"""A Kafka consumer loop that handles messages concurrently and commits at least once.

Up to ``in_flight`` messages are handled at once, in any order; a partition's committed offset is the lowest still in
flight (newswatch.core.offsets), so a slow message holds back its own partition's commits, never other messages. A
crash re-reads what was not committed; nothing is skipped. On a rebalance, the revoked partitions' messages get
``grace`` seconds to finish before they are committed and forgotten; on stop, all of them do.

Shared by the consumers of that shape: the full-text stage (teasers in, articles out) and the notifier (alerts in,
deliveries out). Each says what its clients are and what handling one message means.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from newswatch.core.offsets import Offsets

log = logging.getLogger(__name__)

COMMIT_EVERY = 1.0  # seconds


class InFlightStage:
    """Consume ``source``, handle each message with :meth:`process`; ``await stage.run(stop)`` until ``stop`` is set.

    Subclasses provide :meth:`new_producer` and :meth:`process`, and may use :meth:`tick` for periodic work between
    polls. ``in_flight_gauge`` counts the messages being handled; ``client_options`` are the clients' TLS/SASL
    options (newswatch.core.kafka_security.KafkaSecurity.aiokafka()).
    """

    def __init__(
        self,
        source: str,
        in_flight_gauge: Gauge,
        *,
        bootstrap: str,
        group: str,
        auto_offset_reset: str,
        client_options: dict[str, Any],
        in_flight: int,
        grace: float,
    ) -> None:
        self.source = source
        self.bootstrap = bootstrap
        self.group = group
        self.auto_offset_reset = auto_offset_reset
        self.client_options = client_options
        self.in_flight_gauge = in_flight_gauge
        self.in_flight = max(1, in_flight)
        self.grace = grace
        self.offsets = Offsets()
        self.tasks: dict[tuple[TopicPartition, int], asyncio.Task[None]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        # set once the whole stage stops: a send that keeps failing then gives up (its offset stays uncommitted)
        self._stopping = False

    def new_consumer(self) -> AIOKafkaConsumer:
        """The consumer of ``source``: offsets committed by this loop only."""
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset=self.auto_offset_reset,
            # handling takes seconds (pages, sink retries take minutes); the loop keeps polling (paused partitions),
            # so this is never reached in practice
            max_poll_interval_ms=600_000,
            **self.client_options,
        )

    def new_producer(self) -> AIOKafkaProducer:
        """The producer of the stage's output (acks=all)."""
        raise NotImplementedError

    async def process(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        """Handle one message; when it returns, the offset may be committed (its output acknowledged)."""
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Called after every poll (``now``: the event loop's clock); nothing by default."""

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; messages in flight then get ``grace`` seconds to finish (the rest are read
        again after a restart)."""
        self.consumer = self.new_consumer()
        self.producer = self.new_producer()
        await self.producer.start()
        try:
            self.consumer.subscribe([self.source], listener=_Revoked(self))
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
        clock = asyncio.get_running_loop().time
        last_commit = clock()
        paused = False
        while not stop.is_set():
            free = self.in_flight - len(self.tasks)
            assigned = self.consumer.assignment()
            # paused partitions are still polled, so the group does not count the stage as stuck while it is full
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
                    self.tasks[(tp, record.offset)] = asyncio.create_task(
                        self._handle(tp, record.offset, record.key, record.value)
                    )
            now = clock()
            self.tick(now)
            if now - last_commit >= COMMIT_EVERY:
                last_commit = now
                await self._commit()

    async def _handle(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.in_flight_gauge.inc()
        try:
            await self.process(tp, offset, key, value)
            self.offsets.finished(tp, offset)
        finally:
            self.in_flight_gauge.dec()
            self.tasks.pop((tp, offset), None)

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        assert self.consumer is not None
        offsets = self.offsets.committable(partitions)
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance or an outage: committed at the next chance, handled again at worst
            log.info("offsets not committed (%s); committed later", type(exc).__name__)
            return
        self.offsets.committed.update(offsets)

    async def _drain(self, grace: float, partitions: set[TopicPartition] | None = None) -> None:
        """Let the messages in flight (of ``partitions``, default all) finish within ``grace``, then cancel the rest
        (left uncommitted: handled again by whoever reads the partition next)."""
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
        """Before another instance takes ``partitions``: finish their messages, commit, forget them."""
        await self._drain(self.grace, partitions)
        await self._commit(partitions)
        self.offsets.forget(partitions)


class _Revoked(ConsumerRebalanceListener):
    def __init__(self, stage: InFlightStage) -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.stage.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
