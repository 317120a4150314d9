"""The worker's Kafka client settings reach aiokafka (Faust fixes some of them itself)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from newswatch.core.settings import Settings
from newswatch.streams.app import make_app
from newswatch.streams.metrics import WorkerMetrics


def test_the_fetch_wait_and_linger_settings_reach_the_kafka_clients() -> None:
    """Faust fixes the consumer's fetch wait at 1,500 ms, which stalled busy partitions behind quiet ones."""

    async def scenario() -> None:
        registry = CollectorRegistry()
        settings = Settings(worker_fetch_max_wait_ms=42, worker_producer_linger_ms=7)
        app = make_app(settings, WorkerMetrics(registry), registry)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            assert consumer._fetch_max_wait_ms == 42
        finally:
            await consumer.stop()
        assert app.producer.linger_ms == 7

    asyncio.run(scenario())


def test_a_worker_waits_at_most_100_ms_for_a_fetch_by_default() -> None:
    assert Settings().worker_fetch_max_wait_ms == 100
