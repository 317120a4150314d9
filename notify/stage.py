"""The notifier's Kafka loop: alerts in, deliveries out, each offset committed only once every sink the alert was
routed to accepted it or the alert is on the dead-letter topic (at least once: a crash re-reads and re-delivers,
with the same idempotency key; it never skips).

Alerts are delivered concurrently (``in_flight`` at once, any order) by the loop of newswatch.core.inflight: a
partition's committed offset is the lowest still in flight, so a sink being retried holds back commits, never other
alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from newswatch.core.inflight import InFlightStage
from newswatch.notify import deadletter
from newswatch.notify.decode import decode_alert
from newswatch.notify.deliver import Deliverer, Result, Sinks
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.reload import RELOAD_EVERY, LiveNotify
from newswatch.notify.route import route

log = logging.getLogger(__name__)

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


class NotifyStage(InFlightStage):
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
        super().__init__(
            topics.alerts,
            metrics.in_flight,
            bootstrap=topics.bootstrap,
            group=topics.group,
            auto_offset_reset=topics.auto_offset_reset,  # latest by default: a first start pages no history
            client_options=topics.client_options,
            in_flight=in_flight,
            grace=grace,
        )
        self.topics = topics
        self.live = live
        self.sinks = sinks
        self.deliverer = deliverer
        self.metrics = metrics
        self._last_reload: float | None = None
        sinks.update(live.config)

    def new_producer(self) -> AIOKafkaProducer:
        """The dead-letter producer."""
        t = self.topics
        return AIOKafkaProducer(
            bootstrap_servers=t.bootstrap, acks="all", enable_idempotence=True, linger_ms=5, **t.client_options
        )

    def tick(self, now: float) -> None:
        """Reload the notify file every RELOAD_EVERY seconds."""
        if self._last_reload is None:
            self._last_reload = now
        elif now - self._last_reload >= RELOAD_EVERY:
            self._last_reload = now
            self._reload()

    def _reload(self) -> None:
        config = self.live.check()
        self.metrics.reload_failing.set(1 if self.live.error else 0)
        if config is not None:
            self.sinks.update(config)
            log.info("notify file reloaded: %d sinks, %d routes", len(config.sinks), len(config.routes))

    async def process(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        """Deliver one alert to every sink it is routed to; what a sink did not accept goes to the dead letters."""
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
