"""Every metric ``newswatch notify`` exports (Prometheus conventions: base units, ``_total``).

Labels are bounded: ``sink`` is a name from the notify file, ``reason`` a short vocabulary (``http_<status>``,
``timeout``, ``connection``, ``circuit_open``, ``template``, ``malformed``).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PREFIX = "newswatch_notify"


class NotifyMetrics:
    """The notifier's metrics, registered in ``registry`` (the process-wide default unless a test passes one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        r = self.registry
        self.delivered = Counter(f"{PREFIX}_delivered", "Alerts a sink accepted", ["sink"], registry=r)
        self.failed = Counter(
            f"{PREFIX}_failed", "Tries that failed, by sink and reason (each may be retried)", ["sink", "reason"],
            registry=r,
        )  # fmt: skip
        self.retried = Counter(f"{PREFIX}_retried", "Tries made again after a failed one", ["sink"], registry=r)
        self.dead_lettered = Counter(
            f"{PREFIX}_dead_lettered",
            "Alerts given up on and sent to the dead-letter topic, by sink and the last try's reason",
            ["sink", "reason"],
            registry=r,
        )
        self.skipped = Counter(
            f"{PREFIX}_skipped", "Alerts routed to a sink that does not post their kind (updates)", ["sink"], registry=r
        )
        self.latency = Histogram(
            f"{PREFIX}_delivery_seconds",
            "From reading an alert to its sink accepting it, retries included",
            ["sink"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.circuit_open = Gauge(
            f"{PREFIX}_circuit_open", "1 while a sink's circuit breaker refuses tries", ["sink"], registry=r
        )
        self.malformed = Counter(
            f"{PREFIX}_malformed", "Messages on the alert topic that are not an alert (dead-lettered)", registry=r
        )
        self.in_flight = Gauge(f"{PREFIX}_in_flight", "Alerts being delivered now", registry=r)
        self.reload_failing = Gauge(
            f"{PREFIX}_config_reload_failing", "1 while the notify file's last edit is invalid", registry=r
        )

    def sink(self, name: str) -> None:
        """Show ``name``'s series at 0 before its first alert (a rate over a missing series is no rate)."""
        self.delivered.labels(name)
        self.retried.labels(name)
        self.skipped.labels(name)
        self.circuit_open.labels(name).set(0)


def serve(metrics: NotifyMetrics, port: int, addr: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` for ``metrics`` on ``port`` in a background thread."""
    start_http_server(port, addr=addr, registry=metrics.registry)
