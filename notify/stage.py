"""The notifier's Kafka loop: alerts in, deliveries out, each offset committed only once every sink the alert was
routed to accepted it or the alert is on the dead-letter topic (at least once: a crash re-reads and re-delivers,
with the same idempotency key; it never skips).

Alerts are delivered concurrently (``in_flight`` at once, any order); a partition's committed offset is the lowest
still in flight (newswatch.core.offsets), so a sink being retried holds back commits, never other alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from newswatch.core.offsets import Offsets
from newswatch.notify import deadletter
from newswatch.notify.decode import decode_alert
from newswatch.notify.deliver import Deliverer, Result, Sinks
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.reload import RELOAD_EVERY, LiveNotify
from newswatch.notify.route import route

log = logging.getLogger(__name__)

COMMIT_EVERY = 1.0  # seconds
SEND_RETRY = 2.0  # seconds between tries of a dead letter Kafka did not acknowledge


@dataclass(frozen=True)
class NotifyTopics:
    """Where the notifier reads and writes, and its consumer group."""

    bootstrap: str
    alerts: str
    dead_letter: str
    group: str
    auto_offset_reset: str = "latest"
    client_options: dict[str, Any] = field(default_factory=dict)  # TLS/SASL (KafkaSecurity.aiokafka())


class NotifyStage:
    """Consume alerts, deliver them; ``await stage.run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        topics: NotifyTopics,
        live: LiveNotify,
        sinks: Sinks,
        deliverer: Deliverer,
        metrics: NotifyMetrics,
        *,
        in_flight: int = 64,
        grace: float = 25.0,
    ) -> None:
        self.topics = topics
        self.live = live
        self.sinks = sinks
        self.deliverer = deliverer
        self.metrics = metrics
        self.in_flight = max(1, in_flight)
        self.grace = grace
        self.offsets = Offsets()
        self.tasks: dict[tuple[TopicPartition, int], asyncio.Task[None]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._stopping = False
        sinks.update(live.config)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; deliveries in flight then get ``grace`` seconds to finish (the rest are
        delivered again after a restart)."""
        t = self.topics
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=t.bootstrap,
            group_id=t.group,
            enable_auto_commit=False,
            auto_offset_reset=t.auto_offset_reset,
            # retries take minutes; the loop keeps polling (paused partitions) so this is never reached in practice
            max_poll_interval_ms=600_000,
            **t.client_options,
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=t.bootstrap, acks="all", enable_idempotence=True, linger_ms=5, **t.client_options
        )
        await self.producer.start()
        try:
            self.consumer.subscribe([t.alerts], listener=_Revoked(self))
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
        last_commit = last_reload = clock()
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
                    self.tasks[(tp, record.offset)] = asyncio.create_task(
                        self._handle(tp, record.offset, record.key, record.value)
                    )
            now = clock()
            if now - last_reload >= RELOAD_EVERY:
                last_reload = now
                self._reload()
            if now - last_commit >= COMMIT_EVERY:
                last_commit = now
                await self._commit()

    def _reload(self) -> None:
        config = self.live.check()
        self.metrics.reload_failing.set(1 if self.live.error else 0)
        if config is not None:
            self.sinks.update(config)
            log.info("notify file reloaded: %d sinks, %d routes", len(config.sinks), len(config.routes))

    async def _handle(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.metrics.in_flight.inc()
        try:
            await self._deliver(tp, offset, key, value)
            self.offsets.finished(tp, offset)
        finally:
            self.metrics.in_flight.dec()
            self.tasks.pop((tp, offset), None)

    async def _deliver(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        read_at = time.monotonic()
        alert = decode_alert(value)
        if alert is None:
            self.metrics.malformed.inc()
            log.warning("message at %s:%d is not an alert; to the dead letters", tp.topic, offset)
            await self._dead_letter(tp, offset, key, None, value, Result("-", False, "malformed"))
            return
        names = route(self.live.config, alert)
        raw = value or b""
        results = await asyncio.gather(*(self._one(name, alert, raw, read_at) for name in names))
        for result in results:
            if not result.delivered:
                self.metrics.dead_lettered.labels(result.sink, result.reason).inc()
                await self._dead_letter(tp, offset, key, alert, value, result)

    async def _one(self, name: str, alert: dict[str, Any], raw: bytes, read_at: float) -> Result:
        try:
            return await self.deliverer.deliver(name, alert, raw, read_at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours must cost one delivery (dead-lettered), not the partition's progress
            log.warning("delivering alert %s to %s failed unexpectedly", alert.get("alert_id"), name, exc_info=True)
            return Result(name, False, "internal", detail=f"{type(exc).__name__}: {exc}"[:300])

    async def _dead_letter(
        self,
        tp: TopicPartition,
        offset: int,
        key: bytes | None,
        alert: dict[str, Any] | None,
        raw: bytes | None,
        result: Result,
    ) -> None:
        assert self.producer is not None
        value = deadletter.record(
            sink=result.sink, reason=result.reason, attempts=result.attempts, detail=result.detail,
            topic=tp.topic, partition=tp.partition, offset=offset, alert=alert, raw=raw,
        )  # fmt: skip
        out_key = alert["alert_id"].encode() if alert else key
        while True:
            try:
                await self.producer.send_and_wait(
                    self.topics.dead_letter,
                    value=value,
                    key=out_key,
                    headers=deadletter.headers(result.sink, result.reason),
                )
                return
            except KafkaError as exc:
                if self._stopping:
                    raise  # left uncommitted: read and delivered again after the restart
                log.warning("dead letter not acknowledged by Kafka (%s); trying again", type(exc).__name__)
                await asyncio.sleep(SEND_RETRY)

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        assert self.consumer is not None
        offsets = self.offsets.committable(partitions)
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance or an outage: committed at the next chance, delivered again at worst
            log.info("offsets not committed (%s); committed later", type(exc).__name__)
            return
        self.offsets.committed.update(offsets)

    async def _drain(self, grace: float, partitions: set[TopicPartition] | None = None) -> None:
        """Let the deliveries in flight (of ``partitions``, default all) finish within ``grace``, then cancel the
        rest (left uncommitted: delivered again by whoever reads the partition next)."""
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
        """Before another notifier takes ``partitions``: finish their deliveries, commit, forget them."""
        await self._drain(self.grace, partitions)
        await self._commit(partitions)
        self.offsets.forget(partitions)


class _Revoked(ConsumerRebalanceListener):
    def __init__(self, stage: NotifyStage) -> None:
        self.stage = stage

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.stage.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
