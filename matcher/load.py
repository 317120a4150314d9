"""Load a rule set: every YAML file of a directory, validated, cross-checked and merged into one RuleSet.

Each problem is reported as ``file:line:column: where: what (hint: how to fix)``; every problem of every file
is collected before raising, so one ``rules check`` run shows them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from newswatch.core.yamlconf import ConfigError, format_errors, plain, read_yaml, where
from newswatch.matcher.model import LIST_REF, ActorItem, ActorSelector, Condition, RuleFile, RuleSet
from newswatch.matcher.topics import RuleTopics

# Rules are hand-written (the shipped files are at most 34 KB) and reloaded while the worker runs; ruamel reads
# about 150 KB a second, so this keeps a reload under about two seconds.
RULE_FILE_MAX_BYTES = 256 * 1024

HINTS = {
    "missing": "add this key",
    "literal_error": "use one of the values listed",
    "string_pattern_mismatch": "ids are lower case: a-z, 0-9, '_', '-', '.'",
    "union_tag_invalid": "a term is a string, {term: ..., case: true} or {regex: ...}",
    "union_tag_not_found": "a term is a string, {term: ..., case: true} or {regex: ...}",
    "list_type": "write a YAML list: [a, b] or one '- item' per line",
    "int_parsing": "write a whole number",
}


def rule_files(path: Path) -> list[Path]:
    """The YAML files of a rule set: ``path`` itself, or every ``*.yaml``/``*.yml`` under it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def walk_terms(cond: Condition, loc: tuple) -> Iterator[tuple[Any, tuple, bool]]:
    """Every term of a condition with its location and whether it is positive (not under ``none``)."""
    yield from _walk(cond, loc, True)


def _walk(cond: Condition, loc: tuple, positive: bool) -> Iterator[tuple[Any, tuple, bool]]:
    for key in ("any", "all", "none"):
        items = getattr(cond, key)
        for i, item in enumerate(items or []):
            pos = positive and key != "none"
            if isinstance(item, Condition):
                yield from _walk(item, (*loc, key, i), pos)
            else:
                yield item, (*loc, key, i), pos
    for i, side in enumerate(cond.near or []):
        if isinstance(side, list):
            for j, term in enumerate(side):
                yield term, (*loc, "near", i, j), positive
        elif not isinstance(side, ActorItem):
            yield side, (*loc, "near", i), positive


def walk_actors(cond: Condition, loc: tuple) -> Iterator[tuple[ActorSelector, tuple]]:
    """Every actor selector of a condition with its location."""
    if cond.actor is not None:
        yield cond.actor, (*loc, "actor")
    for i, side in enumerate(cond.near or []):
        if isinstance(side, ActorItem):
            yield side.actor, (*loc, "near", i, "actor")
    for key in ("any", "all", "none"):
        for i, item in enumerate(getattr(cond, key) or []):
            if isinstance(item, Condition):
                yield from walk_actors(item, (*loc, key, i))


class _Checker:
    """Cross-file checks; collects problems with their positions."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.seen: dict[tuple[str, str], str] = {}

    def unique(self, kind: str, ident: str, here: str) -> None:
        first = self.seen.setdefault((kind, ident), here)
        if first != here:
            self.problems.append(
                f"{here}: duplicate {kind} id '{ident}' (hint: first defined at {first}; ids are unique per rule set)"
            )


def _parse(files: list[Path], problems: list[str], topics: RuleTopics) -> list[tuple[Path, Any, RuleFile]]:
    parsed = []
    for path in files:
        try:
            data = read_yaml(path, max_bytes=RULE_FILE_MAX_BYTES)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if data is None:
            continue
        try:
            parsed.append((path, data, RuleFile.model_validate(plain(data), context={"rule_topics": topics})))
        except ValidationError as exc:
            problems.extend(format_errors(path, data, exc, columns=True, hints=HINTS))
    return parsed


def _cross_check(parsed: list[tuple[Path, Any, RuleFile]], rules: RuleSet, check: _Checker) -> None:
    types = {a.type for a in rules.actors}
    actor_ids = {a.id for a in rules.actors}
    for path, data, file in parsed:
        term_sources: list[tuple[Any, tuple]] = [
            (term, ("lists", name, i)) for name, terms in file.lists.items() for i, term in enumerate(terms)
        ]
        for a, actor in enumerate(file.actors):
            for key in ("aliases", "demonyms", "exclude"):
                term_sources += [(t, ("actors", a, key, i)) for i, t in enumerate(getattr(actor, key))]
        for e, event in enumerate(file.events):
            loc = ("events", e, "match")
            positive = [t for t, _, pos in walk_terms(event.match, loc) if pos]
            if not positive and not list(walk_actors(event.match, loc)):
                check.problems.append(
                    f"{where(path, data, loc, columns=True)}: events.{e}.match: no positive term "
                    "(hint: add an 'any', 'all' or 'near' list; 'none' alone matches everything)"
                )
            term_sources += [(t, tloc) for t, tloc, _ in walk_terms(event.match, loc)]
            for selector, sloc in walk_actors(event.match, loc):
                here = where(path, data, sloc, columns=True)
                for ident in selector.ids:
                    if ident not in actor_ids:
                        check.problems.append(
                            f"{here}: {'.'.join(map(str, sloc))}: unknown actor '{ident}' "
                            f"(hint: define it in actors.yaml; known: {', '.join(sorted(actor_ids)) or 'none'})"
                        )
                for kind in selector.types:
                    if kind not in types:
                        check.problems.append(
                            f"{here}: {'.'.join(map(str, sloc))}: no actor has type '{kind}' "
                            f"(hint: known types: {', '.join(sorted(types)) or 'none'})"
                        )
        for term, tloc in term_sources:
            ref = LIST_REF.match(term) if isinstance(term, str) else None
            if ref is None:
                continue
            here = where(path, data, tloc, columns=True)
            if tloc[0] == "lists":
                check.problems.append(f"{here}: a list cannot use another list ('{term}') (hint: copy its terms)")
            elif ref.group(1) not in rules.lists:
                check.problems.append(
                    f"{here}: {'.'.join(map(str, tloc))}: unknown list '{term}' "
                    f"(hint: define it under 'lists:'; known: {', '.join(sorted(rules.lists)) or 'none'})"
                )


def load_rules(path: Path | str, topics: RuleTopics | None = None) -> RuleSet:
    """Load, validate and cross-check the rule set at ``path`` (a directory or one file); only load.

    ``topics``: what a rule's ``topic:`` may name in this deployment (``RuleTopics.from_settings``); the
    default topic names when not given.

    Raises ConfigError listing every problem. Running each rule's embedded examples needs the compiled rules:
    callers that want it (a worker, ``rules check``) do it on their ``Matcher`` (``matcher.examples``), so the
    rules are compiled once per load.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, [f"{path}: file not found (hint: set NEWSWATCH_RULES_PATH or --rules)"])
    files = rule_files(path)
    problems: list[str] = []
    parsed = _parse(files, problems, topics or RuleTopics())
    rules = RuleSet(files=files)
    check = _Checker()
    for file_path, data, file in parsed:
        for i, actor in enumerate(file.actors):
            check.unique("actor", actor.id, where(file_path, data, ("actors", i), columns=True))
            rules.actors.append(actor)
        for name, terms in file.lists.items():
            check.unique("list", name, where(file_path, data, ("lists", name), columns=True))
            rules.lists[name] = terms
        for i, event in enumerate(file.events):
            here = where(file_path, data, ("events", i), columns=True)
            check.unique("event", event.id, here)
            rules.events.append(event)
            rules.sources.setdefault(event.id, here)
    _cross_check(parsed, rules, check)
    problems += check.problems
    if problems:
        raise ConfigError(path, problems)
    return rules
