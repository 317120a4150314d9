"""Run the examples each rule carries (``examples: {match: [...], no_match: [...]}``) and explain failures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswatch.core.yamlconf import ConfigError
from newswatch.matcher.compile import positive
from newswatch.matcher.engine import Matcher
from newswatch.matcher.load import load_rules
from newswatch.matcher.model import Event
from newswatch.matcher.topics import RuleTopics


@dataclass(frozen=True)
class Failure:
    """An example that did not do what its rule says, and why."""

    rule: str
    where: str  # file:line:col of the rule
    kind: str  # "match" or "no_match"
    example: str
    why: str

    def message(self) -> str:
        """One line for a person: where, which rule, which example, why."""
        expected = "should match but did not" if self.kind == "match" else "should not match but did"
        return f"{self.where}: rule '{self.rule}': example {expected}: {self.example!r}: {self.why}"


def example_article(event: Event, example: str | dict[str, str]) -> dict[str, Any]:
    """An article for an example: a string goes to the title for title-scoped rules, else to the body."""
    if isinstance(example, dict):
        return {"id": "example", **example}
    field = "title" if event.scope == "title" else "content"
    return {"id": "example", field: example}


def _short(example: str | dict[str, str]) -> str:
    text = example if isinstance(example, str) else " | ".join(example.values())
    return text if len(text) <= 120 else text[:117] + "..."


def run_examples(matcher: Matcher) -> list[Failure]:
    """Every failing example of every rule of ``matcher`` (an empty list when all pass)."""
    rules = matcher.rules
    failures = []
    for event in rules.events:
        where = rules.sources.get(event.id, "?")
        for kind, examples in (("match", event.examples.match), ("no_match", event.examples.no_match)):
            for example in examples:
                article = example_article(event, example)
                found = {m.rule.id: m for m in matcher.match(article)}
                if (event.id in found) == (kind == "match"):
                    continue
                if kind == "no_match":
                    terms = ", ".join(sorted({repr(h.term) for h in found[event.id].hits})) or "no terms"
                    why = f"matched on {terms}"
                else:
                    scan = matcher.scan(article)
                    seen = sorted({matcher.compiled.labels[t] for t in scan.hits if t in _terms_of(matcher, event)})
                    why = (
                        f"terms found: {', '.join(seen)}, but the rest of the condition does not hold"
                        if seen
                        else "none of the rule's terms occurs"
                    )
                failures.append(Failure(event.id, where, kind, _short(example), why))
    return failures


def _terms_of(matcher: Matcher, event: Event) -> set[int]:
    terms: set[int] = set()
    positive(matcher.compiled.nodes[matcher.compiled.events.index(event)], terms, set())
    return terms


def checked_matcher(path: Path | str, topics: RuleTopics | None = None) -> Matcher:
    """The rule set at ``path`` loaded, compiled once, and every rule's examples run: a worker never starts on
    rules that contradict their own tests. Raises ConfigError listing every problem.

    ``topics``: what a rule's ``topic:`` may name (``load_rules``)."""
    path = Path(str(path))
    matcher = Matcher(load_rules(path, topics))
    failures = run_examples(matcher)
    if failures:
        raise ConfigError(path, [failure.message() for failure in failures])
    return matcher
