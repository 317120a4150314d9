"""``newswatch alerts tail``: read alert topics with kafka-python and print one line per alert."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, get_args

from kafka import KafkaConsumer, TopicPartition

from newswatch.core.console import json_text, terminal_safe
from newswatch.core.kafka import consumer as kafka_consumer
from newswatch.core.kafka import reaching
from newswatch.matcher.model import Severity

SEVERITIES: tuple[str, ...] = get_args(Severity)  # lowest first, as the rule language defines them


RULE_WIDTH = 20  # the rule-id column's least width; longer ids widen it for every line after them


def _mapping(value: object) -> dict[str, Any]:
    # An alert topic is shared: a message of the wrong shape is shown with '?'s rather than ending the tail.
    return value if isinstance(value, dict) else {}


def format_line(alert: dict[str, Any], rule_width: int = RULE_WIDTH) -> str:
    """One readable line: severity, rule, title, source; updates and escalations say so.

    Every part of an alert is feed text or read off a shared topic, so the whole line goes through
    ``terminal_safe``: it cannot move the cursor, retitle the terminal or break into a second line.
    """
    rule, article = _mapping(alert.get("rule")), _mapping(alert.get("article"))
    kind = alert.get("kind", "alert")
    if kind == "update":
        sources = alert.get("sources")
        extra = f"  [+{len(sources) - 1 if isinstance(sources, list) else '?'} more source(s)]"
    elif kind == "escalation":
        esc = _mapping(alert.get("escalation"))
        extra = f"  [ESCALATION: {esc.get('count')} matches from {esc.get('distinct_sources')} sources]"
    else:
        extra = ""
    title = article.get("title") or "(no title)"
    source = str(article.get("source") or article.get("feed_id") or "?")
    if article.get("text_source") == "page":
        source += ", read from the page"
    severity, rule_id = terminal_safe(rule.get("severity", "?")).upper(), terminal_safe(rule.get("id", "?"))
    return terminal_safe(f"[{severity:8}] {rule_id:<{rule_width}} {title}  ({source}){extra}")


class LineFormatter:
    """``format_line`` with a rule column as wide as the longest rule id known so far, so columns stay aligned.

    ``known``: rule ids expected up front (the local rule pack, ``--rule`` filters) to size the column at once.
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.width = max([RULE_WIDTH, *(len(rule) for rule in known)])

    def __call__(self, alert: dict[str, Any]) -> str:
        self.width = max(self.width, len(str(_mapping(alert.get("rule")).get("id", ""))))
        return format_line(alert, self.width)


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


class BrokerWatch:
    """Says once when the broker has been unreachable for ``after`` seconds, and once when it is back.

    A reader that just waits prints nothing while the broker is down, which looks the same as a quiet news day.
    ``reachable`` is a probe (the consumer's connections); ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        reachable: Callable[[], bool],
        echo: Callable[[str], None],
        bootstrap: str,
        *,
        after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reachable, self.echo, self.bootstrap, self.after, self.clock = reachable, echo, bootstrap, after, clock
        self.down_since: float | None = None
        self.warned = False

    def check(self) -> None:
        """Probe once; warn or report recovery when the state changed."""
        if self.reachable():
            if self.warned:
                self.echo(f"Kafka at {self.bootstrap} is reachable again; alerts follow")
            self.down_since, self.warned = None, False
            return
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        elif not self.warned and now - self.down_since >= self.after:
            self.warned = True
            self.echo(
                f"warning: Kafka at {self.bootstrap} has been unreachable for {now - self.down_since:.0f} s; "
                "still trying (alerts are kept on the topic and follow when it is back)"
            )


def _connected(consumer: KafkaConsumer) -> bool:
    # kafka-python has no public "is any broker connected" call; its client knows each broker's connection.
    client = consumer._client
    return any(client.connected(broker.node_id) for broker in client.cluster.brokers())


def _partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's next offset now: where a reader starts that must see everything sent from here on."""
    consumer = kafka_consumer(bootstrap)
    try:
        partitions = _partitions(consumer, topic)
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_alerts(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    start: dict[int, int] | None = None,
    stop: Callable[[], bool] = lambda: False,
    poll_ms: int = 500,
    rules: set[str] | None = None,
    min_severity: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield alerts from ``topic`` as they arrive, until ``stop()`` is true; undecodable messages are skipped.

    Reads every partition without a consumer group (a person tailing alerts never takes partitions from a real
    subscriber): from the oldest alert, from ``start`` (partition -> offset; partitions it omits from their
    start), or by default from now. ``rules`` and ``min_severity`` filter on the message headers, so unwanted
    alerts are never parsed. With ``echo``, a broker unreachable for a while is reported, and its return.
    """
    consumer = kafka_consumer(bootstrap)
    with reaching(bootstrap):
        partitions = _partitions(consumer, topic)
    watch = BrokerWatch(lambda: _connected(consumer), echo, bootstrap) if echo else None
    try:
        consumer.assign(partitions)
        if from_beginning:
            consumer.seek_to_beginning(*partitions)
        elif start is not None:
            for tp in partitions:
                consumer.seek(tp, start.get(tp.partition, 0))
        else:
            consumer.seek_to_end(*partitions)
        while not stop():
            batches = consumer.poll(timeout_ms=poll_ms)
            if watch is not None and not batches:
                watch.check()
            for records in batches.values():
                if watch is not None:
                    watch.check()
                for record in records:
                    if not wanted(record.headers, rules or set(), min_severity):
                        continue
                    try:
                        alert = json.loads(record.value)
                    except (ValueError, TypeError, RecursionError):  # RecursionError: JSON nested too deeply
                        continue
                    if isinstance(alert, dict):
                        yield alert
    finally:
        consumer.close()


def tail(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    start: dict[int, int] | None = None,
    as_json: bool = False,
    echo: Callable[[str], None] = print,
    stop: Callable[[], bool] = lambda: False,
    rules: set[str] | None = None,
    min_severity: str | None = None,
    known_rules: Iterable[str] = (),
) -> None:
    """Print each alert as one readable line (or as its JSON with ``as_json``); say when the broker is away."""
    alerts = read_alerts(
        bootstrap,
        topic,
        from_beginning=from_beginning,
        start=start,
        stop=stop,
        rules=rules,
        min_severity=min_severity,
        echo=echo,
    )
    line = LineFormatter([*known_rules, *(rules or ())])
    for alert in alerts:
        echo(json_text(alert) if as_json else line(alert))
