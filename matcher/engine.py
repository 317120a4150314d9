"""The matcher's public face: an article in, the events it reports (with evidence, actors and a score) out.

The same ``Matcher`` serves the Faust agent, ``newswatch classify`` and ``newswatch rules test``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from newswatch.matcher.compile import FIELDS, Compiled, compile_rules
from newswatch.matcher.model import Actor, Event, RuleSet
from newswatch.matcher.scan import Scan, article_fields, native, scan

TITLE = FIELDS.index("title")


# Hit and ActorMention are immutable records built for every match (15 hits an article at 10,000 rules): named
# tuples cost a quarter of a frozen dataclass to build.
class Hit(NamedTuple):
    """One matched term: the text found, the rule's term that found it, where it is and the text around it.

    ``snippet``: 60 characters either side of the hit (matcher/native), whitespace runs as one space.
    """

    term: str
    field: str
    start: int
    end: int
    snippet: str
    pattern: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in alerts and ``classify`` output."""
        return {
            "term": self.term,
            "pattern": self.pattern,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "snippet": self.snippet,
        }


class ActorMention(NamedTuple):
    """An actor an article mentions: who, how often, and whether close to an event's evidence."""

    id: str
    name: str
    type: str
    count: int
    near: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in alerts and ``classify`` output."""
        return {"id": self.id, "name": self.name, "type": self.type, "count": self.count, "near": self.near}


@dataclass
class EventMatch:
    """An event rule that matched an article, with the evidence, the actors and a score in [0, 1]."""

    rule: Event
    hits: list[Hit] = field(default_factory=list)
    actors: list[ActorMention] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``newswatch classify``."""
        rule = self.rule
        return {
            "id": rule.id,
            "title": rule.title,
            "category": rule.category,
            "severity": rule.severity,
            "tags": list(rule.tags),
            "topic": rule.topic,
            "score": self.score,
            "actors": [a.to_dict() for a in self.actors],
            "matches": [h.to_dict() for h in self.hits],
        }


@dataclass
class Analysis:
    """Everything the matcher found in one article."""

    events: list[EventMatch]
    actors: list[ActorMention]


def score(distinct: int, hits: int, title: bool, near_actors: int) -> float:
    """Confidence that the article reports the event: more distinct terms, a title hit and nearby actors add up.

    ``distinct``: the distinct patterns (case-blind) among the ``hits`` evidence hits; ``title``: one is in the
    title. 1 - exp(-x) keeps it in [0, 1) and makes each extra piece of evidence count less than the one before.
    """
    x = 0.5 * distinct + 0.1 * (hits - distinct) + (0.5 if title else 0)
    return round(1 - math.exp(-(x + 0.2 * near_actors)), 3)


class Matcher:
    """A compiled rule set; ``match`` keeps no per-call state, so it is safe to share between coroutines."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.compiled: Compiled = compile_rules(rules)
        self.actors: list[Actor] = list(rules.actors)
        # score() counts patterns case-blind; per term id, the same number for the same lower-cased pattern
        keys: dict[str, int] = {}
        self._pattern_key = [keys.setdefault(label.lower(), len(keys)) for label in self.compiled.labels]

    def scan(self, article: dict[str, Any]) -> Scan:
        """Every term and actor mention found in ``article`` (what ``explain`` tools look at)."""
        return scan(self.compiled, article_fields(article))

    def analyze(self, article: dict[str, Any]) -> Analysis:
        """Every matching event and every actor mentioned in ``article``.

        The native scanner does the work (terms, actors, candidate rules, their conditions) and returns only the
        matched rules' evidence, with the article's actors ordered by mentions and, per event, which are near it.
        """
        fields = article_fields(article)
        matched, mentioned, evidence = native(self.compiled.engine.analyze, self.compiled, fields)
        actors = [self._actor(a, count, False) for a, count in mentioned]
        near_actors = [self._actor(a, count, True) for a, count in mentioned] if matched else []
        labels = self.compiled.labels
        hits = [Hit(term, FIELDS[f], s, e, snippet, labels[tid]) for f, s, e, tid, term, snippet in evidence]
        # what score() reads of each hit, taken once per hit rather than once per event that shares it
        pattern_key = self._pattern_key
        keys = [pattern_key[tid] for _, _, _, tid, _, _ in evidence]
        in_title = [f == TITLE for f, _, _, _, _, _ in evidence]
        events = []
        rules = self.compiled.events
        for r, indices, near in matched:
            found = [hits[i] for i in indices]
            mentions = [near_actors[i] if close else actors[i] for i, close in enumerate(near)]
            distinct = len({keys[i] for i in indices})
            title = any(in_title[i] for i in indices)
            events.append(EventMatch(rules[r], found, mentions, score(distinct, len(found), title, sum(near))))
        return Analysis(events, actors)

    def match(self, article: dict[str, Any]) -> list[EventMatch]:
        """Every event rule that matches ``article`` (a dict with ``title``, ``summary``, ``content`` or ``text``)."""
        return self.analyze(article).events

    def _actor(self, index: int, count: int, near: bool) -> ActorMention:
        actor = self.actors[index]
        return ActorMention(actor.id, actor.name, actor.type, count, near)
