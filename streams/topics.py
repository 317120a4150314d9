"""Topic declarations. Values stay raw bytes: agents decode them themselves, so a malformed message is
skipped and counted instead of raising inside Faust's deserializer."""

from __future__ import annotations

from functools import cache

from faust import TopicT

from newswatch.settings import get_settings
from streams.app import app

settings = get_settings()


def _raw_topic(name: str, **options: object) -> TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", **options)


articles_topic = _raw_topic(settings.articles_topic)
alerts_topic = _raw_topic(settings.alerts_topic)
# classify -> route: one message per (article, matched rule), keyed by rule id, so that every match of a rule
# is decided in one partition, next to that rule's dedup/escalation state.
matches_topic = _raw_topic(f"{settings.app_id}-matches", internal=True, partitions=settings.topic_partitions)
dead_letter_topic = _raw_topic(settings.dead_letter_topic) if settings.dead_letter_topic else None


@cache
def rule_topic(name: str) -> TopicT:
    """The topic a rule's ``topic:`` sends its alerts to (besides ``alerts``)."""
    return _raw_topic(name)
