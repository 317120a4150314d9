"""Analysts' verdicts: the compacted ``alert-feedback`` topic (key ``alert_id``), and what a console knows of it.

Every console instance writes its verdicts there and reads everyone's back, so all instances agree and a verdict
survives restarts; compaction keeps the latest verdict per alert. A verdict carries what the rule evaluation needs
(the rule, the article's title and the text the alert holds), so ``newswatch feedback export`` needs no alert.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from newswatch.console.history import Story
from newswatch.console.topics import partitions as topic_partitions
from newswatch.core.clock import utc_iso
from newswatch.core.kafka import consumer as kafka_consumer
from newswatch.core.kafka import ensure_topics, reaching
from newswatch.core.kafka import producer as kafka_producer
from newswatch.core.settings import Settings

VERDICTS = ("relevant", "not_relevant")
MAX_NOTE = 1000  # characters of an analyst's note


@dataclass(frozen=True)
class Verdict:
    """One analyst's verdict on one alert, with what the rule evaluation needs of the alert."""

    alert_id: str
    verdict: str
    rule_id: str
    rule_title: str
    article_id: str
    title: str
    source: str
    url: str
    text: str
    note: str = ""
    triaged_at: str = ""

    @property
    def relevant(self) -> bool:
        """True for ``relevant``."""
        return self.verdict == "relevant"

    def to_json(self) -> bytes:
        """The message value on the feedback topic."""
        return json.dumps({"schema_version": 1, **asdict(self)}, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, value: bytes) -> Verdict | None:
        """A verdict read off the topic, or None for a message of another shape (the topic is shared)."""
        try:
            data = json.loads(value)
            verdict = cls(**{name: str(data.get(name) or "") for name in cls.__dataclass_fields__})
        except (ValueError, TypeError, AttributeError, RecursionError):
            return None
        return verdict if verdict.alert_id and verdict.verdict in VERDICTS else None


def evidence_text(story: Story) -> str:
    """The article text an alert holds: its evidence snippets, in order, without repeats."""
    snippets = [m.get("snippet") for m in story.alert.get("matches") or [] if isinstance(m, dict)]
    return "\n".join(dict.fromkeys(str(s) for s in snippets if s))


def verdict_for(story: Story, verdict: str, note: str = "", now: datetime | None = None) -> Verdict:
    """The verdict ``verdict`` (relevant / not_relevant) on ``story``, with an optional note."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    rule, article = story.rule, story.article
    return Verdict(
        alert_id=story.alert_id,
        verdict=verdict,
        rule_id=str(rule.get("id") or ""),
        rule_title=str(rule.get("title") or ""),
        article_id=str(article.get("id") or ""),
        title=str(article.get("title") or ""),
        source=str(article.get("source") or article.get("feed_id") or ""),
        url=str(article.get("url") or ""),
        text=evidence_text(story),
        note=note.strip()[:MAX_NOTE],
        triaged_at=utc_iso(now or datetime.now(UTC)),
    )


class FeedbackStore:
    """The latest verdict per alert, as read off the topic; ``version`` changes with every change."""

    def __init__(self) -> None:
        self._verdicts: dict[str, Verdict] = {}
        self._lock = threading.Lock()
        self.version = 0
        self.ready = False

    def apply(self, alert_id: str, verdict: Verdict | None) -> None:
        """Record ``verdict`` for ``alert_id`` (None: a tombstone, the verdict withdrawn)."""
        with self._lock:
            if verdict is None:
                self._verdicts.pop(alert_id, None)
            else:
                self._verdicts[alert_id] = verdict
            self.version += 1

    def get(self, alert_id: str) -> Verdict | None:
        """The verdict on ``alert_id``, or None."""
        with self._lock:
            return self._verdicts.get(alert_id)

    def all(self) -> list[Verdict]:
        """Every verdict (a snapshot)."""
        with self._lock:
            return list(self._verdicts.values())


def ensure_feedback_topic(settings: Settings) -> None:
    """Create the feedback topic, compacted (the latest verdict per alert is what counts), if it is missing."""
    configs = {"cleanup.policy": "compact"}
    if settings.topic_min_insync_replicas:
        configs["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.feedback_topic],
        partitions=1,  # human-paced: one partition keeps every verdict in one order
        replication=settings.topic_replication_factor,
        configs={settings.feedback_topic: configs},
    )


class FeedbackWriter:
    """Sends verdicts to the feedback topic and waits for the broker's acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.feedback_topic
        self._producer = kafka_producer(settings.kafka_bootstrap, acks="all", retries=5)

    def send(self, verdict: Verdict) -> None:
        """Write ``verdict`` keyed by its alert id; raise when the broker did not take it within 10 s."""
        self._producer.send(self.topic, key=verdict.alert_id.encode(), value=verdict.to_json()).get(timeout=10)

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=5)


def read_feedback(
    settings: Settings,
    on_verdict: Callable[[str, Verdict | None], None],
    *,
    follow: Callable[[], bool] = lambda: False,
    on_caught_up: Callable[[], None] = lambda: None,
) -> None:
    """Read the whole feedback topic from its start, calling ``on_verdict(alert_id, verdict or None)``; once at
    the end, call ``on_caught_up``, then keep reading while ``follow()`` is true (a console) or return (export)."""
    consumer = kafka_consumer(settings.kafka_bootstrap)
    try:
        with reaching(settings.kafka_bootstrap):
            partitions = topic_partitions(consumer, settings.feedback_topic, settings.kafka_bootstrap)
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
        caught_up = False
        while True:
            if not caught_up and all(consumer.position(tp) >= end for tp, end in ends.items()):
                caught_up = True
                on_caught_up()
                if not follow():
                    return
            if caught_up and not follow():
                return
            for records in consumer.poll(timeout_ms=300).values():
                for record in records:
                    if record.key is None:
                        continue
                    alert_id = record.key.decode(errors="replace")
                    if record.value is None:  # a tombstone: the verdict withdrawn
                        on_verdict(alert_id, None)
                        continue
                    verdict = Verdict.from_json(record.value)
                    if verdict is not None and verdict.alert_id == alert_id:  # a stray message deletes nothing
                        on_verdict(alert_id, verdict)
    finally:
        consumer.close()


def read_all(settings: Settings) -> dict[str, Verdict]:
    """Every alert's latest verdict on the feedback topic now (what ``feedback export`` writes out)."""
    store = FeedbackStore()
    read_feedback(settings, store.apply)
    return {verdict.alert_id: verdict for verdict in store.all()}
