"""Background readers: the alert topic into the history, the feedback topic into the verdicts.

Each runs in a thread of its own (kafka-python blocks) until ``stop`` is set. The alert reader starts each
partition at most ``history_size`` messages before its end, so a console opened now shows today's alerts and its
start-up time and memory stay bounded however long the topic's retention; then it follows the topic live.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from newswatch.console.feedback import FeedbackStore, read_feedback
from newswatch.console.history import AlertHistory
from newswatch.console.topics import partitions as topic_partitions
from newswatch.core.kafka import consumer as kafka_consumer
from newswatch.core.kafka import reaching
from newswatch.core.settings import Settings

log = logging.getLogger(__name__)


def read_alert_topic(settings: Settings, history: AlertHistory, stop: threading.Event) -> None:
    """Fill ``history`` from the alert topic's last ``history_size`` messages per partition, then follow it.

    The console's own consumer group (``console_group``) only records how far it read, so operators see its lag;
    partitions are assigned, not balanced, because every console instance shows every alert.
    """
    topic = settings.alerts_topic
    consumer = kafka_consumer(
        settings.kafka_bootstrap, group_id=settings.console_group, enable_auto_commit=True, max_poll_records=2000
    )
    try:
        with reaching(settings.kafka_bootstrap):
            partitions = topic_partitions(consumer, topic, settings.kafka_bootstrap)
            consumer.assign(partitions)
            begins, ends = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(begins[tp], ends[tp] - history.limit))
        while not stop.is_set():
            if not history.ready and all(consumer.position(tp) >= ends[tp] for tp in partitions):
                history.ready = True
                log.info("console: %d alerts of history read from %s", len(history), topic)
            for records in consumer.poll(timeout_ms=300).values():
                for record in records:
                    try:
                        alert = json.loads(record.value)
                    except (ValueError, TypeError, RecursionError):  # a shared topic: skip what is not an alert
                        continue
                    if isinstance(alert, dict):
                        history.add(alert)
    finally:
        consumer.close()


def read_feedback_topic(settings: Settings, store: FeedbackStore, stop: threading.Event) -> None:
    """Keep ``store`` equal to the feedback topic: every verdict from its start, then new ones as they come."""

    def caught_up() -> None:
        store.ready = True

    read_feedback(settings, store.apply, follow=lambda: not stop.is_set(), on_caught_up=caught_up)


def start(name: str, target: Callable[[], None], failed: Callable[[BaseException], None]) -> threading.Thread:
    """Run ``target`` in a daemon thread; ``failed(error)`` when it ends with an error (e.g. Kafka gone)."""

    def run() -> None:
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - KafkaUnavailable or anything else: reported, the process stops
            failed(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
