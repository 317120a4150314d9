"""The worker's lean Faust sensor still feeds the ``newswatch_faust_*`` figures the dashboard and operators read."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP
from prometheus_client import CollectorRegistry

from newswatch.core.settings import Settings
from newswatch.streams.app import make_app
from newswatch.streams.metrics import WorkerMetrics
from newswatch.streams.sensor import LeanPrometheusMonitor


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


def test_the_worker_app_counts_events_messages_table_operations_and_sends() -> None:
    registry = CollectorRegistry()

    async def scenario() -> None:
        app = make_app(Settings(), WorkerMetrics(registry), registry)
        monitor = app.monitor
        assert isinstance(monitor, LeanPrometheusMonitor)
        tp = TP("articles", 3)
        stream = SimpleNamespace(shortlabel="Stream: Topic: articles")
        table = SimpleNamespace(name="route-state")
        for offset in range(5):
            monitor.on_message_in(tp, offset, object())
            state = monitor.on_stream_event_in(tp, offset, stream, object())
            monitor.on_table_get(table, "k")
            monitor.on_table_set(table, "k", "v")
            sent = monitor.on_send_initiated(object(), "alerts", object(), 1, 10)
            monitor.on_send_completed(object(), sent, object())
            monitor.on_stream_event_out(tp, offset, stream, object(), state)
            monitor.on_message_out(tp, offset, object())
        monitor.on_table_del(table, "k")
        # Faust's watchdog logs "Stream has not started processing" for a partition with a backlog without it
        assert tp in monitor.stream_inbound_time

    asyncio.run(scenario())
    # the dashboard's "events" panel reads this one
    assert _value(registry, "newswatch_faust_total_events_total") == 5
    assert _value(registry, "newswatch_faust_total_active_events") == 0
    assert _value(registry, "newswatch_faust_messages_received_total") == 5
    assert _value(registry, "newswatch_faust_active_messages") == 0
    assert _value(registry, "newswatch_faust_messages_received_per_topic_total", topic="articles") == 5
    assert (
        _value(registry, "newswatch_faust_messages_received_per_topics_partition", topic="articles", partition="3") == 4
    )
    assert _value(registry, "newswatch_faust_events_runtime_ms_count") == 5
    table = "table.route-state"
    assert _value(registry, "newswatch_faust_table_operations_total", table=table, operation="keys_retrieved") == 5
    assert _value(registry, "newswatch_faust_table_operations_total", table=table, operation="keys_updated") == 5
    assert _value(registry, "newswatch_faust_table_operations_total", table=table, operation="keys_deleted") == 1
    assert _value(registry, "newswatch_faust_topic_messages_sent_total", topic="topic.alerts") == 5
    assert _value(registry, "newswatch_faust_total_sent_messages_total") == 5
    assert _value(registry, "newswatch_faust_producer_send_latency_count") == 5
