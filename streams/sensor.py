"""Faust's own metrics (``newswatch_faust_*``), from a sensor cut down to what its per-message hooks must do.

Faust calls its sensor several times for every message read, event handled, table read or write and message sent.
Its stock Prometheus sensor also keeps the in-memory statistics of Faust's base ``Monitor`` (per-partition offsets,
stream and task names rendered to strings, latency deques) and looks every labelled child up again: about 6 % of the
worker's time at 500 articles/s (bench/RESULTS.md). This one exports the same metric families, from cached children,
and leaves the base monitor's statistics (served by no endpoint here) out of the hot hooks, except the one Faust's
own watchdog reads (``stream_inbound_time``).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp.web import Response
from faust import App
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["LeanPrometheusMonitor", "setup_sensor"]


class LeanPrometheusMonitor(PrometheusMonitor):
    """``PrometheusMonitor`` with the per-message hooks reduced to counter increments on cached children.

    Rare hooks (commits, rebalances, assignments, web requests, send errors) keep Faust's own code.
    """

    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self._labelled: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._labelled.get(key)
        if child is None:
            child = self._labelled[key] = metric.labels(*labels)
        return child

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """A message read from Kafka, before it reaches a stream."""
        metrics = self._metrics
        metrics.messages_received.inc()
        metrics.active_messages.inc()
        self._child(metrics.messages_received_per_topics, tp.topic).inc()
        self._child(metrics.messages_received_per_topics_partition, tp.topic, str(tp.partition)).set(offset)

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> float:
        """An event handed to an agent; its start time is the state ``on_stream_event_out`` gets back."""
        started = time.monotonic()
        # Faust's watchdog reads this to tell a stream that never processed its partition (an ERROR every few
        # minutes under load, for every partition with a backlog, when it was left out)
        self.stream_inbound_time[tp] = started
        metrics = self._metrics
        metrics.total_events.inc()
        metrics.total_active_events.inc()
        key = (id(metrics.total_events_per_stream), id(stream))
        child = self._labelled.get(key)
        if child is None:
            # Faust's label for the stream; computed once per stream (it runs a regex)
            child = self._labelled[key] = metrics.total_events_per_stream.labels(
                stream=f"stream.{self._stream_label(stream)}.events"
            )
        child.inc()
        return started

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None) -> None:
        """The agent is done with the event."""
        self._metrics.total_active_events.dec()
        if isinstance(state, float):
            self._metrics.events_runtime_latency.observe(1000 * (time.monotonic() - state))

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """A message acknowledged by every stream that read it."""
        self._metrics.active_messages.dec()

    def _table_op(self, table: Any, operation: str) -> None:
        self._child(self._metrics.table_operations, f"table.{table.name}", operation).inc()

    def on_table_get(self, table: Any, key: Any) -> None:
        """A table read."""
        self._table_op(table, self.KEYS_RETRIEVED)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        """A table write."""
        self._table_op(table, self.KEYS_UPDATED)

    def on_table_del(self, table: Any, key: Any) -> None:
        """A table delete."""
        self._table_op(table, self.KEYS_DELETED)

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> float:
        """A message handed to the producer; its start time is the state ``on_send_completed`` gets back."""
        self._child(self._metrics.topic_messages_sent, f"topic.{topic}").inc()
        return time.monotonic()

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        """The broker acknowledged a message."""
        self._metrics.total_sent_messages.inc()
        if isinstance(state, float):
            self._metrics.producer_send_latency.observe(1000 * (time.monotonic() - state))

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        """A send failed."""
        self.send_errors += 1
        self._metrics.total_error_messages_sent.inc()
        if isinstance(state, float):
            self._metrics.producer_error_send_latency.observe(1000 * (time.monotonic() - state))


def setup_sensor(app: App, registry: CollectorRegistry, name_prefix: str, pattern: str = "/metrics") -> None:
    """Faust's metrics under ``name_prefix`` in ``registry``, and ``registry`` served at ``pattern`` on the web port
    (what ``faust.sensors.prometheus.setup_prometheus_sensors`` does, with the lean sensor)."""
    app.monitor = LeanPrometheusMonitor(metrics=FaustMetrics.create(registry, name_prefix))

    @app.page(pattern)
    async def metrics_page(_view: Any, _request: Any) -> Response:
        return Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
