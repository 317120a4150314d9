"""Every metric the full-text stage exports (Prometheus conventions: base units, ``_total``).

Labels are bounded: ``outcome`` comes from a fixed vocabulary (plus ``http_<status>``), ``host`` is only set
while that host has fetches queued and is removed when its queue empties.
"""

from __future__ import annotations

import contextlib

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PREFIX = "newswatch_fulltext"
OUTCOMES = (
    "extracted", "empty", "robots", "robots_unreachable", "too_large", "not_html", "timeout", "connection",
    "private_address", "redirects", "bad_redirect", "encoding", "extract_timeout", "extract_error", "no_link",
    "internal",
)  # fmt: skip


class FulltextMetrics:
    """The stage's metrics, registered in ``registry`` (the process-wide default unless a test passes one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        r = self.registry
        self.pages = Counter(
            f"{PREFIX}_pages",
            "Pages read, by outcome: extracted, or why the feed's text was kept (robots, too_large, timeout, ...)",
            ["outcome"],
            registry=r,
        )
        for outcome in OUTCOMES:
            self.pages.labels(outcome)
        self.articles = Counter(
            f"{PREFIX}_articles",
            "Articles passed on to the articles topic, by where their text came from (page, feed)",
            ["text_source"],
            registry=r,
        )
        for source in ("page", "feed"):
            self.articles.labels(source)
        self.not_articles = Counter(
            f"{PREFIX}_not_articles",
            "Teasers-topic messages that are not a JSON object, passed on as they are (classify dead-letters them)",
            registry=r,
        )
        self.reused = Counter(
            f"{PREFIX}_pages_reused",
            "Articles whose page was already read (the same story in several feeds)",
            registry=r,
        )
        self.retries = Counter(f"{PREFIX}_retries", "Page fetches tried again after a transient failure", registry=r)
        self.robots = Counter(
            f"{PREFIX}_robots_fetches", "robots.txt reads by outcome (HTTP status or reason)", ["outcome"], registry=r
        )
        self.fetch_seconds = Histogram(
            f"{PREFIX}_fetch_seconds",
            "Time to fetch one page (request to last byte, redirects included)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
            registry=r,
        )
        self.extract_seconds = Histogram(
            f"{PREFIX}_extract_seconds",
            "Time to extract one page's main text",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=r,
        )
        self.page_bytes = Histogram(
            f"{PREFIX}_page_bytes",
            "Size of the pages read (decompressed)",
            buckets=(10e3, 30e3, 100e3, 300e3, 1e6, 3e6, 10e6),
            registry=r,
        )
        self.downloaded = Counter(
            f"{PREFIX}_downloaded_bytes", "Bytes downloaded for pages (as sent, before decompression)", registry=r
        )
        self.in_flight = Gauge(f"{PREFIX}_in_flight", "Articles whose page is being read now", registry=r)
        self.host_queue = Gauge(
            f"{PREFIX}_host_queue",
            "Page fetches waiting for their turn on a host (only hosts with a queue)",
            ["host"],
            registry=r,
        )
        self.send_errors = Counter(
            f"{PREFIX}_send_errors",
            "Sends to the articles topic Kafka did not acknowledge (tried again, never dropped)",
            registry=r,
        )

    def host_queue_changed(self, host: str, waiting: int) -> None:
        """Set the queue gauge of ``host``; a host whose queue emptied is removed from it."""
        if waiting > 0:
            self.host_queue.labels(host).set(waiting)
            return
        with contextlib.suppress(KeyError):
            self.host_queue.remove(host)


def serve(metrics: FulltextMetrics, port: int, addr: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` for ``metrics`` on ``port`` in a background thread."""
    start_http_server(port, addr=addr, registry=metrics.registry)
