"""``newswatch alerts tail``: read alert topics with kafka-python and print one line per alert."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer

from newswatch.kafka_admin import UNREACHABLE, KafkaUnavailable

SEVERITIES = ("info", "low", "medium", "high", "critical")


def format_line(alert: dict[str, Any]) -> str:
    """One readable line: severity, rule, title, source; updates and escalations say so."""
    rule = alert.get("rule", {})
    article = alert.get("article", {})
    kind = alert.get("kind", "alert")
    if kind == "update":
        extra = f"  [+{len(alert.get('sources', [])) - 1} more source(s)]"
    elif kind == "escalation":
        esc = alert.get("escalation", {})
        extra = f"  [ESCALATION: {esc.get('count')} matches from {esc.get('distinct_sources')} sources]"
    else:
        extra = ""
    return (
        f"[{str(rule.get('severity', '?')).upper():8}] {rule.get('id', '?'):<20} "
        f"{article.get('title') or '(no title)'}  ({article.get('source') or article.get('feed_id') or '?'}){extra}"
    )


def wanted(headers: list[tuple[str, bytes]], rules: set[str], min_severity: str | None) -> bool:
    """Filter on the Kafka headers, without parsing the value: rule ids, and a minimum severity."""
    found = {key: value.decode(errors="replace") for key, value in headers or []}
    if rules and found.get("rule-id") not in rules:
        return False
    if min_severity:
        severity = found.get("severity", "info")
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        return rank >= SEVERITIES.index(min_severity)
    return True


def read_alerts(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    group: str | None = None,
    stop: Callable[[], bool] = lambda: False,
    poll_ms: int = 500,
    rules: set[str] | None = None,
    min_severity: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield alerts from ``topic`` as they arrive, until ``stop()`` is true; undecodable messages are skipped.

    ``rules`` and ``min_severity`` filter on the message headers, so unwanted alerts are never parsed.
    """
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
                    if not wanted(record.headers, rules or set(), min_severity):
                        continue
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
    rules: set[str] | None = None,
    min_severity: str | None = None,
) -> None:
    """Print each alert as one readable line (or as its JSON with ``as_json``)."""
    alerts = read_alerts(
        bootstrap, topic, from_beginning=from_beginning, stop=stop, rules=rules, min_severity=min_severity
    )
    for alert in alerts:
        echo(json.dumps(alert, ensure_ascii=False) if as_json else format_line(alert))
