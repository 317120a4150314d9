"""Compile a RuleSet into what the engine runs: one automaton for every phrase of every rule and actor, one RE2
set for every regex, and each event's condition as a tree of term-id groups.

The presearch index maps each term and actor to the events that use it, so an article is only evaluated against
the events whose terms occur in it (Lucene Monitor's presearcher idea): most articles touch a handful of rules
whatever the size of the rule set.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import re2

from matcher.load import RuleSet
from matcher.model import LIST_REF, ActorItem, ActorSelector, CaseTerm, Condition, Event, RegexTerm
from matcher.terms import Phrase, compile_phrase

FIELDS = ("title", "summary", "content", "text")
SCOPES = {
    "title": frozenset({"title"}),
    "title_summary": frozenset({"title", "summary"}),
    "full": frozenset(FIELDS),
}

Group = tuple[int, ...]  # term ids; a group hits when any of its terms does ("$list" or a single term)


@dataclass(frozen=True)
class Actors:
    """An actor selector resolved to actor indices."""

    indices: frozenset[int]
    within: int | None


@dataclass
class Node:
    """A compiled condition block (see matcher.model.Condition for the meaning of each part)."""

    fields: frozenset[str]
    any: list[Group | Node] | None = None
    all: list[Group | Node] | None = None
    none: list[Group | Node] | None = None
    near: tuple[Group | Actors, Group | Actors] | None = None
    within: int = 0
    min_hits: int = 1
    actor: Actors | None = None


@dataclass
class Compiled:
    """Everything the engine needs, built once per rule set."""

    events: list[Event]
    nodes: list[Node]
    labels: list[str]  # term id -> the term as written in the rules
    phrases: dict[int, Phrase]
    regex_ids: list[int]  # RE2 set index -> term id
    regexes: list[Any]  # RE2 set index -> compiled regex
    regex_set: Any | None
    folded: Any | None  # automaton over folded text: key -> (key length, term ids), case-sensitive terms too
    actor_terms: dict[int, list[int]] = field(default_factory=dict)  # term id -> actor indices it names
    exclude_terms: dict[int, list[int]] = field(default_factory=dict)  # term id -> actor indices it excludes
    rules_of_term: dict[int, list[int]] = field(default_factory=dict)
    rules_of_actor: dict[int, list[int]] = field(default_factory=dict)
    always: list[int] = field(default_factory=list)  # events evaluated on every article (none found yet)


class _Builder:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.ids: dict[tuple[str, str, bool], int] = {}
        self.labels: list[str] = []
        self.phrases: dict[int, Phrase] = {}
        self.regex_terms: list[tuple[int, str, bool]] = []
        self.actor_index = {a.id: i for i, a in enumerate(rules.actors)}
        self.actor_types: dict[str, set[int]] = defaultdict(set)
        for i, actor in enumerate(rules.actors):
            self.actor_types[actor.type].add(i)

    def term(self, term: Any) -> Group:
        if isinstance(term, str) and (ref := LIST_REF.match(term)):
            return tuple(tid for t in self.rules.lists[ref.group(1)] for tid in self.term(t))
        if isinstance(term, RegexTerm):
            key = ("regex", term.regex, term.case)
        elif isinstance(term, CaseTerm):
            key = ("phrase", term.term, term.case)
        else:
            key = ("phrase", term, False)
        if key not in self.ids:
            tid = self.ids[key] = len(self.labels)
            self.labels.append(key[1] if key[0] == "phrase" else f"/{key[1]}/")
            if key[0] == "regex":
                self.regex_terms.append((tid, key[1], key[2]))
            else:
                self.phrases[tid] = compile_phrase(key[1], key[2])
        return (self.ids[key],)

    def actors(self, sel: ActorSelector) -> Actors:
        found = {self.actor_index[i] for i in sel.ids}
        for kind in sel.types:
            found |= self.actor_types[kind]
        return Actors(frozenset(found), sel.within)

    def items(self, items: list[Any] | None, fields: frozenset[str]) -> list[Group | Node] | None:
        if items is None:
            return None
        return [self.node(i, fields) if isinstance(i, Condition) else self.term(i) for i in items]

    def side(self, side: Any) -> Group | Actors:
        if isinstance(side, ActorItem):
            return self.actors(side.actor)
        if isinstance(side, list):
            return tuple(tid for term in side for tid in self.term(term))
        return self.term(side)

    def node(self, cond: Condition, fields: frozenset[str]) -> Node:
        fields = SCOPES[cond.scope] if cond.scope else fields
        return Node(
            fields=fields,
            any=self.items(cond.any, fields),
            all=self.items(cond.all, fields),
            none=self.items(cond.none, fields),
            near=(self.side(cond.near[0]), self.side(cond.near[1])) if cond.near else None,
            within=cond.within or 0,
            min_hits=cond.min_hits or 1,
            actor=self.actors(cond.actor) if cond.actor else None,
        )


def _positive(node: Node, terms: set[int], actors: set[int]) -> None:
    """The terms and actors whose presence can make ``node`` true (the presearch keys of its event)."""
    for items in (node.any, node.all):
        for item in items or []:
            if isinstance(item, Node):
                _positive(item, terms, actors)
            else:
                terms.update(item)
    for side in node.near or ():
        if isinstance(side, Actors):
            actors.update(side.indices)
        else:
            terms.update(side)
    if node.actor is not None:
        actors.update(node.actor.indices)


def _automaton(entries: dict[str, list[int]]) -> Any | None:
    if not entries:
        return None
    auto = ahocorasick.Automaton()
    for key, tids in entries.items():
        auto.add_word(key, (len(key), tuple(tids)))
    auto.make_automaton()
    return auto


def compile_rules(rules: RuleSet) -> Compiled:
    """Build the automata, the RE2 set, the condition trees and the presearch index of ``rules``."""
    b = _Builder(rules)
    actor_terms: dict[int, list[int]] = defaultdict(list)
    exclude_terms: dict[int, list[int]] = defaultdict(list)
    for i, actor in enumerate(rules.actors):
        for term in [*actor.aliases, *actor.demonyms]:
            for tid in b.term(term):
                actor_terms[tid].append(i)
        for term in actor.exclude:
            for tid in b.term(term):
                exclude_terms[tid].append(i)
    nodes = [b.node(event.match, SCOPES[event.scope]) for event in rules.events]
    rules_of_term: dict[int, list[int]] = defaultdict(list)
    rules_of_actor: dict[int, list[int]] = defaultdict(list)
    always = []
    for r, node in enumerate(nodes):
        terms: set[int] = set()
        actors: set[int] = set()
        _positive(node, terms, actors)
        for tid in terms:
            rules_of_term[tid].append(r)
        for a in actors:
            rules_of_actor[a].append(r)
        if not terms and not actors:
            always.append(r)
    folded: dict[str, list[int]] = defaultdict(list)
    for tid, phrase in b.phrases.items():
        folded[phrase.key].append(tid)
    regex_set = None
    regexes = []
    if b.regex_terms:
        options = re2.Options()
        regex_set = re2.Set.SearchSet(options)
        for _tid, pattern, case in b.regex_terms:
            full = pattern if case else f"(?i){pattern}"
            regex_set.Add(full)
            regexes.append(re2.compile(full))
        regex_set.Compile()
    return Compiled(
        events=list(rules.events),
        nodes=nodes,
        labels=b.labels,
        phrases=b.phrases,
        regex_ids=[tid for tid, _, _ in b.regex_terms],
        regexes=regexes,
        regex_set=regex_set,
        folded=_automaton(folded),
        actor_terms=dict(actor_terms),
        exclude_terms=dict(exclude_terms),
        rules_of_term=dict(rules_of_term),
        rules_of_actor=dict(rules_of_actor),
        always=always,
    )
