"""Match articles against event rules: whole-word, case-insensitive keywords with ``*`` stems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from matcher.rules import EventRule, RuleSet

SNIPPET = 60


@dataclass(frozen=True)
class Hit:
    """One matched term: where it is and the text around it."""

    term: str
    field: str
    start: int
    end: int
    snippet: str


@dataclass
class EventMatch:
    """An event rule that matched an article, with the evidence."""

    rule: EventRule
    hits: list[Hit] = field(default_factory=list)


def _term_pattern(term: str) -> str:
    stem = term.endswith("*")
    words = term.rstrip("*").split()
    body = r"\s+".join(re.escape(word) for word in words)
    tail = r"\w*" if stem else r"(?!\w)"
    return rf"(?<!\w){body}{tail}"


def article_fields(article: dict[str, Any]) -> dict[str, str]:
    """The text fields of an article that rules look at."""
    return {name: str(article.get(name) or "") for name in ("title", "summary", "content", "text")}


class Matcher:
    """Compiled rules; ``match`` is safe to call from many coroutines (it keeps no per-call state)."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._compiled = [
            (rule, re.compile("|".join(_term_pattern(k) for k in rule.keywords), re.IGNORECASE))
            for rule in rules.events
        ]

    def match(self, article: dict[str, Any]) -> list[EventMatch]:
        """Every event rule that matches ``article``."""
        fields = article_fields(article)
        found = []
        for rule, pattern in self._compiled:
            hits = []
            for name, text in fields.items():
                for m in pattern.finditer(text):
                    lo, hi = max(0, m.start() - SNIPPET), min(len(text), m.end() + SNIPPET)
                    hits.append(Hit(m.group(0), name, m.start(), m.end(), text[lo:hi]))
            if hits:
                found.append(EventMatch(rule, hits))
        return found
