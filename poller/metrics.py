"""Every metric the poller exports, declared in one place (Prometheus conventions: base units, ``_total``).

Labels are bounded: ``feed`` is a configured feed id and ``outcome``/``reason`` come from a fixed vocabulary;
URLs and article ids never become labels. The registry is injected so each test builds its own.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PREFIX = "newswatch_poller"
# Feed fetches take from a few ms (304 from a CDN) to the whole-fetch deadline (60 s).
FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PollerMetrics:
    """The poller's metrics, registered in ``registry`` (the process-wide default unless a test passes one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        r = self.registry
        self.fetches = Counter(
            f"{PREFIX}_fetches",
            "Feed polls by outcome: the HTTP status (200, 304) or a failure reason (timeout, too_large, ...)",
            ["feed", "outcome"],
            registry=r,
        )
        self.fetch_duration = Histogram(
            f"{PREFIX}_fetch_duration_seconds",
            "Time to fetch one feed (request to last byte)",
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.items_seen = Counter(f"{PREFIX}_items_seen", "Items found in fetched feeds", ["feed"], registry=r)
        self.items_new = Counter(f"{PREFIX}_items_new", "Items not produced before", ["feed"], registry=r)
        self.items_duplicate = Counter(
            f"{PREFIX}_items_duplicate", "Items already produced, dropped", ["feed"], registry=r
        )
        self.downloaded = Counter(
            f"{PREFIX}_downloaded_bytes",
            "Bytes downloaded from feeds (as sent, before decompression)",
            ["feed"],
            registry=r,
        )
        self.items_capped = Counter(
            f"{PREFIX}_items_capped",
            "Items a poll did not produce because of a cap, by reason: deferred (new items over the per-poll cap, "
            "produced by the next polls, newest first) or dropped (listed below the newest items of a document "
            "that the poller reads at all; never produced)",
            ["feed", "reason"],
            registry=r,
        )
        self.produced = Counter(
            f"{PREFIX}_articles_produced", "Articles acknowledged by Kafka on the articles topic", ["feed"], registry=r
        )
        self.teasers = Counter(
            f"{PREFIX}_teasers",
            "Of the articles produced, those sent to the full-text stage to have their page read",
            ["feed"],
            registry=r,
        )
        self.produce_errors = Counter(
            f"{PREFIX}_produce_errors",
            "Article sends Kafka did not acknowledge (retried on the next poll, never dropped)",
            ["reason"],
            registry=r,
        )
        self.state_errors = Counter(
            f"{PREFIX}_state_write_errors",
            "feed-state records Kafka did not acknowledge (the feed is produced again after a restart if none lands)",
            registry=r,
        )
        self.in_backoff = Gauge(f"{PREFIX}_feeds_in_backoff", "Feeds whose last poll failed", registry=r)
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds", "When each feed last polled successfully", ["feed"], registry=r
        )
        self.feeds = Gauge(f"{PREFIX}_feeds", "Feeds this poller owns (after sharding)", registry=r)
        self.feeds_reloads = Counter(
            f"{PREFIX}_feeds_reloads",
            "Reloads of the edited feeds file, by outcome (ok, error)",
            ["outcome"],
            registry=r,
        )
        self.feeds_reload_failing = Gauge(
            f"{PREFIX}_feeds_reload_failing",
            "1 while the feeds file on disk is invalid and the last good feed list is polled",
            registry=r,
        )
        for outcome in ("ok", "error"):
            self.feeds_reloads.labels(outcome)


def serve(metrics: PollerMetrics, port: int, addr: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` for ``metrics`` on ``port`` in a background thread."""
    start_http_server(port, addr=addr, registry=metrics.registry)
