"""The matcher's public face: an article in, the events it reports (with evidence, actors and a score) out.

The same ``Matcher`` serves the Faust agent, ``newswatch classify`` and ``newswatch rules test``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from matcher.compile import Compiled, compile_rules
from matcher.evaluate import evaluate
from matcher.load import RuleSet
from matcher.model import Actor, Event
from matcher.scan import RawHit, Scan, article_fields

SNIPPET = 60  # characters either side of a hit: enough to read the sentence around it
ACTOR_NEAR = 20  # words: an actor this close to an event's evidence is "near" the event


@dataclass(frozen=True)
class Hit:
    """One matched term: the text found, the rule's term that found it, where it is and the text around it."""

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


@dataclass(frozen=True)
class ActorMention:
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


def score(hits: list[Hit], near_actors: int) -> float:
    """Confidence that the article reports the event: more distinct terms, a title hit and nearby actors add up.

    1 - exp(-x) keeps it in [0, 1) and makes each extra piece of evidence count less than the one before.
    """
    distinct = len({h.pattern.lower() for h in hits})
    x = 0.5 * distinct + 0.1 * (len(hits) - distinct) + (0.5 if any(h.field == "title" for h in hits) else 0)
    return round(1 - math.exp(-(x + 0.2 * near_actors)), 3)


class Matcher:
    """A compiled rule set; ``match`` keeps no per-call state, so it is safe to share between coroutines."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.compiled: Compiled = compile_rules(rules)
        self.actors: list[Actor] = list(rules.actors)

    def scan(self, article: dict[str, Any]) -> Scan:
        """The terms and actor mentions found in ``article`` (what ``explain`` tools look at)."""
        return Scan(self.compiled, article_fields(article))

    def analyze(self, article: dict[str, Any]) -> Analysis:
        """Every matching event and every actor mentioned in ``article``."""
        scan = self.scan(article)
        c = self.compiled
        candidates: set[int] = set(c.always)
        for tid in scan.hits:
            candidates.update(c.rules_of_term.get(tid, ()))
        for actor in scan.mentions:
            candidates.update(c.rules_of_actor.get(actor, ()))
        events = []
        for r in sorted(candidates):
            evidence = evaluate(c.nodes[r], scan)
            if evidence is not None:
                events.append(self._event(r, scan, evidence))
        actors = [self._actor(a, hits, False) for a, hits in sorted(scan.mentions.items(), key=_by_count)]
        return Analysis(events, actors)

    def match(self, article: dict[str, Any]) -> list[EventMatch]:
        """Every event rule that matches ``article`` (a dict with ``title``, ``summary``, ``content`` or ``text``)."""
        return self.analyze(article).events

    def _hit(self, raw: RawHit, scan: Scan) -> Hit:
        name, start, end, tid = raw
        text = scan.fields[name]
        lo, hi = max(0, start - SNIPPET), min(len(text), end + SNIPPET)
        snippet = " ".join(text[lo:hi].split())
        return Hit(text[start:end], name, start, end, snippet, self.compiled.labels[tid])

    def _actor(self, index: int, mentions: list[RawHit], near: bool) -> ActorMention:
        actor = self.actors[index]
        return ActorMention(actor.id, actor.name, actor.type, len(mentions), near)

    def _event(self, r: int, scan: Scan, evidence: list[RawHit]) -> EventMatch:
        unique = sorted(set(evidence), key=lambda h: (FIELD_ORDER.get(h[0], 9), h[1]))
        hits = [self._hit(raw, scan) for raw in unique]
        actors = []
        index = scan.near_index(unique)
        for a, mentions in sorted(scan.mentions.items(), key=_by_count):
            near = scan.is_near(mentions, index, ACTOR_NEAR)
            actors.append(self._actor(a, mentions, near))
        return EventMatch(self.compiled.events[r], hits, actors, score(hits, sum(a.near for a in actors)))


FIELD_ORDER = {"title": 0, "summary": 1, "content": 2, "text": 3}


def _by_count(item: tuple[int, list[RawHit]]) -> tuple[int, int]:
    return (-len(item[1]), item[0])
