"""Topic declarations. Values stay raw bytes: agents decode them themselves, so a malformed message is
skipped and counted instead of raising inside Faust's deserializer."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust
from faust import TopicT

from newswatch.core.settings import Settings
from newswatch.streams.app import matches_topic_name


def _raw_topic(app: faust.App, name: str, **options: object) -> TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", **options)


@dataclass
class Topics:
    """The worker's topics, declared on one app."""

    app: faust.App
    articles: TopicT
    alerts: TopicT
    # classify -> route: one message per (article, matched rule), keyed by rule id, so that every match of a rule
    # is decided in one partition, next to that rule's dedup/escalation state.
    matches: TopicT
    dead_letter: TopicT | None
    _rule_topics: dict[str, TopicT] = field(default_factory=dict)

    def rule_topic(self, name: str) -> TopicT:
        """The topic a rule's ``topic:`` sends its alerts to (besides ``alerts``)."""
        if name not in self._rule_topics:
            self._rule_topics[name] = _raw_topic(self.app, name)
        return self._rule_topics[name]


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    """Declare the worker's topics on ``app`` (creating them on the broker is ``newswatch worker``'s job)."""
    return Topics(
        app=app,
        articles=_raw_topic(app, settings.articles_topic),
        alerts=_raw_topic(app, settings.alerts_topic),
        matches=_raw_topic(app, matches_topic_name(settings), internal=True, partitions=settings.topic_partitions),
        dead_letter=_raw_topic(app, settings.dead_letter_topic) if settings.dead_letter_topic else None,
    )
