"""``newswatch alerts tail``: read alert topics with kafka-python and print one line per alert."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer

from newswatch.kafka_admin import UNREACHABLE, KafkaUnavailable


def format_line(alert: dict[str, Any]) -> str:
    """One readable line: severity, rule, title, source."""
    rule = alert.get("rule", {})
    article = alert.get("article", {})
    return (
        f"[{str(rule.get('severity', '?')).upper():8}] {rule.get('id', '?'):<20} "
        f"{article.get('title') or '(no title)'}  ({article.get('source') or article.get('feed_id') or '?'})"
    )


def read_alerts(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    group: str | None = None,
    stop: Callable[[], bool] = lambda: False,
    poll_ms: int = 500,
) -> Iterator[dict[str, Any]]:
    """Yield alerts from ``topic`` as they arrive, until ``stop()`` is true; undecodable messages are skipped."""
    try:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            bootstrap_timeout_ms=10_000,
            # A private group by default: a person tailing alerts must not steal partitions from a real subscriber.
            group_id=group or f"newswatch-tail-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=group is not None,
        )
    except UNREACHABLE as exc:
        raise KafkaUnavailable(bootstrap, type(exc).__name__) from None
    try:
        while not stop():
            for records in consumer.poll(timeout_ms=poll_ms).values():
                for record in records:
                    try:
                        yield json.loads(record.value)
                    except (ValueError, TypeError):
                        continue
    finally:
        consumer.close()


def tail(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    as_json: bool = False,
    echo: Callable[[str], None] = print,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Print each alert as one readable line (or as its JSON with ``as_json``)."""
    for alert in read_alerts(bootstrap, topic, from_beginning=from_beginning, stop=stop):
        echo(json.dumps(alert, ensure_ascii=False) if as_json else format_line(alert))
