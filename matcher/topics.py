"""Which Kafka topic a rule's ``topic:`` may name: one Kafka accepts, under the alerts topic, none of newswatch's own.

A rule's alerts go to ``alerts`` and to its ``topic:`` (agents/route.py); the worker creates that topic when it
loads the rule. A name Kafka refuses would stop the reload at topic creation; one of newswatch's own topics
(``articles``, the feed-state or matches topic...) would mix alerts into a stream whose consumers expect articles
or state, and ``alerts`` itself would receive every alert twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newswatch.core.settings import Settings

MAX_TOPIC_LENGTH = 249  # Kafka's limit on a topic name
_LEGAL = re.compile(r"[A-Za-z0-9._-]+")
_ILLEGAL = re.compile(r"[^A-Za-z0-9._-]")
# The default names of newswatch's topics (core/settings.py); a deployment that renames them passes its own.
DEFAULT_OWN_TOPICS = frozenset({"articles", "alerts", "articles.teasers", "articles.dead-letter", "feed-state"})


@dataclass(frozen=True)
class RuleTopics:
    """What a rule's ``topic:`` must be in one deployment.

    ``prefixes``: ``alerts.``, and the configured alerts topic's name and a dot when it is renamed, so rule
    topics never collide with another topic and can be subscribed to, retained and granted (Kafka ACLs by prefix)
    together; the shipped rules' ``alerts.conflict`` stays valid in every deployment. ``own``: newswatch's
    topics; ``internal_prefix``: the worker's Faust topics (``newswatch-matches``, the table changelogs).
    """

    prefixes: tuple[str, ...] = ("alerts.",)
    own: frozenset[str] = field(default=DEFAULT_OWN_TOPICS)
    internal_prefix: str = "newswatch-"

    @classmethod
    def from_settings(cls, settings: Settings) -> RuleTopics:
        """The rules for the topic names ``settings`` configures."""
        own = {
            settings.articles_topic,
            settings.alerts_topic,
            settings.teasers_topic,
            settings.dead_letter_topic,
            settings.feed_state_topic,
        }
        prefixes = tuple(dict.fromkeys(["alerts.", f"{settings.alerts_topic}."]))
        return cls(prefixes, frozenset(name for name in own if name), f"{settings.app_id}-")

    def problem(self, name: str) -> str | None:
        """What is wrong with ``name`` as a rule's topic, and what to write instead; None when it is fine."""
        suggestion = f"e.g. '{self.prefixes[0]}{_ILLEGAL.sub('-', name.rsplit('.', 1)[-1]).strip('.-')[:40] or 'name'}'"
        if not _LEGAL.fullmatch(name) or name in (".", ".."):
            bad = sorted(set(_ILLEGAL.findall(name)))
            found = f" (found {', '.join(repr(c) for c in bad)})" if bad else ""
            return (
                f"'{name}' is not a Kafka topic name: use letters, digits, '.', '_' and '-' only{found}; {suggestion}"
            )
        if len(name) > MAX_TOPIC_LENGTH:
            return f"topic name is {len(name)} characters, over Kafka's limit of {MAX_TOPIC_LENGTH}; shorten it"
        if name in self.own:
            return (
                f"'{name}' is one of newswatch's own topics ({', '.join(sorted(self.own))}); a rule's alerts would be "
                f"mixed into it: give the rule a topic of its own, {suggestion}"
            )
        if name.startswith(self.internal_prefix):
            return (
                f"'{name}' is named like the worker's internal topics ('{self.internal_prefix}...'); "
                f"give the rule a topic of its own, {suggestion}"
            )
        if not any(name.startswith(prefix) and name != prefix for prefix in self.prefixes):
            allowed = " or ".join(f"'{prefix}'" for prefix in self.prefixes)
            return f"a rule's topic must start with {allowed} (the alerts topic and a dot); {suggestion}"
        return None
