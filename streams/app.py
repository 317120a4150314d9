"""The Faust application, built by ``make_app``: nothing is created at import (agents: ``newswatch.agents``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from faust.types import ProducerT
from prometheus_client import CollectorRegistry

from newswatch.core.kafka_security import KafkaSecurity
from newswatch.core.settings import Settings
from newswatch.streams.consumer import transport_class
from newswatch.streams.delivery import DeliveryLedger
from newswatch.streams.metrics import WorkerMetrics
from newswatch.streams.sensor import setup_sensor


class NewswatchApp(faust.App):
    """A Faust app whose consumer never skips a message of the ``contiguous_topics`` (streams/consumer.py)."""

    contiguous_topics: frozenset[str] = frozenset()
    on_gap: Callable[[str, int], None] = staticmethod(lambda topic, skipped: None)
    on_stale: Callable[[int], None] = staticmethod(lambda records: None)
    on_undelivered: Callable[[], None] = staticmethod(lambda: None)
    fetch_max_wait_ms: int = 1500
    # every send of the agents, settled before each commit (streams/delivery.py)
    deliveries: DeliveryLedger = DeliveryLedger()

    def _new_transport(self) -> Any:
        transport = transport_class(
            self.contiguous_topics.__contains__,
            self.on_gap,
            self.on_stale,
            self.on_undelivered,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        return transport(self.conf.broker_consumer, self)

    async def maybe_start_producer(self) -> ProducerT:
        """The started producer, which Faust asks for before every single send.

        Faust's version guards the first start against concurrent callers, and yields to the event loop three
        times on every call to do so: three loop turns per alert, match and table write. Once the producer runs
        there is nothing to guard.
        """
        producer = self.producer
        if producer.started and not self.in_transaction:
            return producer
        return await super().maybe_start_producer()


def matches_topic_name(settings: Settings) -> str:
    """classify -> route: the internal topic of one (article, matched rule) per message."""
    return f"{settings.app_id}-matches"


def make_app(settings: Settings, metrics: WorkerMetrics, registry: CollectorRegistry) -> NewswatchApp:
    """The worker's Faust app for ``settings``; Faust's own sensor and ``metrics`` share ``registry``."""
    app = NewswatchApp(
        settings.app_id,
        # Faust reads unprefixed environment variables (BROKER_URL, WEB_PORT, ...) over the app's own settings, which
        # once moved a worker to another cluster while its poller stayed: it gets none; NEWSWATCH_* is the one way.
        env={},
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=KafkaSecurity.from_settings(settings).faust_credentials(),
        store="memory://",
        datadir=str(settings.worker_data_dir),
        web_port=settings.worker_web_port,
        web_host=settings.worker_web_host,
        # the address the web server listens on (Faust's default is every interface); /metrics names every rule
        web_bind=settings.worker_web_host,
        topic_partitions=settings.topic_partitions,
        # Faust creates the matches topic and the table's changelog itself: same copies as newswatch's own topics.
        topic_replication_factor=settings.topic_replication_factor,
        # Topics are created by `newswatch worker` before the app starts (see newswatch.core.kafka).
        topic_allow_declare=True,
        producer_acks=-1,
        producer_linger=settings.worker_producer_linger_ms / 1000,
        producer_request_timeout=settings.worker_producer_timeout_seconds,
        processing_guarantee=settings.processing_guarantee,
        # Back-pressure. Faust stops fetching for a stream once this many of its messages wait for the agent, so a
        # burst stays on Kafka (as consumer lag) instead of in memory. Faust's default is 4,096; an article may be
        # up to 1 MB, so 1,024 quarters the worst case while still holding two full polls (below) of work, enough
        # that the agent never waits for a fetch (peak RSS under a 50,000-article burst: bench/RESULTS.md "Burst").
        stream_buffer_maxsize=1024,
        # aiokafka's default hands over everything one fetch returned (up to 1 MB per partition); cap each poll so
        # the consumer loop returns often enough to commit and to notice a rebalance.
        broker_max_poll_records=500,
        broker_session_timeout=settings.worker_session_timeout_seconds,
        # On stop, Faust waits until every message handed to an agent is acknowledged; one that never will be (its
        # agent already stopped, or blocked on a send) kept `newswatch run` waiting until it was killed. Not waiting
        # loses nothing: what was not acknowledged is not committed, and is read again on the next start.
        stream_wait_empty=False,
    )
    # The articles topic (written by pollers) and, at least once, the matches topic have a message at every
    # offset: a consumer that skips ahead there is losing messages (streams/consumer.py).
    contiguous = {settings.articles_topic}
    if settings.processing_guarantee == "at_least_once":
        contiguous.add(matches_topic_name(settings))
    app.contiguous_topics = frozenset(contiguous)
    app.fetch_max_wait_ms = settings.worker_fetch_max_wait_ms
    app.on_gap = lambda topic, skipped: metrics.stream_gaps.labels(topic).inc(skipped)
    app.on_stale = metrics.stale_records_dropped.inc
    app.deliveries = DeliveryLedger()
    app.on_undelivered = metrics.undelivered.inc
    # Faust's own stream/table/producer metrics (newswatch_faust_*) and ours share one registry and are
    # served together at http://<worker>:<web port>/metrics.
    setup_sensor(app, registry, "newswatch_faust")
    return app
