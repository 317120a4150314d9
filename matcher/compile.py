"""Compile a RuleSet into what the engine runs: the native scanner (one automaton for every phrase of every rule
and actor, each event's condition as a tree of term-id groups), and one RE2 set for every regex.

The presearch index maps each term and actor to the events that use it, so an article is only evaluated against
the events whose terms occur in it (Lucene Monitor's presearcher idea): most articles touch a handful of rules
whatever the size of the rule set. The scanner (matcher/native, Rust) does the per-article work: Python only
builds the spec here and turns the few matches into objects (matcher/engine.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import re2
from newswatch_scan import Engine

from newswatch.matcher.model import LIST_REF, ActorItem, ActorSelector, CaseTerm, Condition, Event, RegexTerm, RuleSet
from newswatch.matcher.terms import Phrase, compile_phrase

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
    origins: dict[str, str]  # label -> the list ("$attack_words") a term came from, for terms found through one
    phrases: dict[int, Phrase]
    regex_ids: list[int]  # RE2 set index -> term id
    regexes: list[Any]  # RE2 set index -> compiled regex
    regex_set: Any | None
    engine: Engine  # the native scanner: phrases, actors, presearch and the condition trees
    needs: list[list[Need]] = field(default_factory=list)  # event -> its presearch key sets (none: always)


class _Builder:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.ids: dict[tuple[str, str, bool], int] = {}
        self.labels: list[str] = []
        self.origins: dict[str, str] = {}
        self.phrases: dict[int, Phrase] = {}
        self.regex_terms: list[tuple[int, str, bool]] = []
        self.actor_index = {a.id: i for i, a in enumerate(rules.actors)}
        self.actor_types: dict[str, set[int]] = defaultdict(set)
        for i, actor in enumerate(rules.actors):
            self.actor_types[actor.type].add(i)

    def term(self, term: Any) -> Group:
        if isinstance(term, str) and (ref := LIST_REF.match(term)):
            group = tuple(tid for t in self.rules.lists[ref.group(1)] for tid in self.term(t))
            for tid in group:
                self.origins.setdefault(self.labels[tid], term)
            return group
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


def positive(node: Node, terms: set[int], actors: set[int]) -> None:
    """The terms and actors whose presence can make ``node`` true (what ``rules check`` lists for a rule)."""
    for items in (node.any, node.all):
        for item in items or []:
            if isinstance(item, Node):
                positive(item, terms, actors)
            else:
                terms.update(item)
    for side in node.near or ():
        if isinstance(side, Actors):
            actors.update(side.indices)
        else:
            terms.update(side)
    if node.actor is not None:
        actors.update(node.actor.indices)


Need = tuple[frozenset[int], frozenset[int]]  # terms, actors: one of them occurs in every article the node matches


def _cost(need: Need, phrases: dict[int, Phrase]) -> float:
    """How often ``need`` is expected to be met: actors are named everywhere, stems and single words often."""
    terms, actors = need
    cost = 10.0 * len(actors)
    for tid in terms:
        words = phrases[tid].words if tid in phrases else (("", False),)
        cost += 0.5 if len(words) > 1 else (16.0 if words[0][1] else 8.0) / max(len(words[0][0]), 3)
    return cost


def _needs(node: Node, phrases: dict[int, Phrase]) -> list[Need]:
    """Presearch key sets of ``node``: every article it matches has one term or actor of each set.

    Every key of a block must hold, so each gives a set: each item of ``all`` (a nested block: each of its
    sets), each side of ``near``, the ``actor``, and ``any`` (one set of each of its items, merged); ``none``
    gives nothing. Empty: the node can hold with no term at all.
    """
    needs: list[Need] = []
    if node.any is not None:
        union = [_cheapest(_item_needs(i, phrases), phrases) for i in node.any]
        if all(u is not None for u in union):
            needs.append(
                (frozenset().union(*(u[0] for u in union if u)), frozenset().union(*(u[1] for u in union if u)))
            )
    for item in node.all or []:
        needs += _item_needs(item, phrases)
    for side in node.near or ():
        needs.append((frozenset(), side.indices) if isinstance(side, Actors) else (frozenset(side), frozenset()))
    if node.actor is not None:
        needs.append((frozenset(), node.actor.indices))
    return needs


def _item_needs(item: Group | Node, phrases: dict[int, Phrase]) -> list[Need]:
    return _needs(item, phrases) if isinstance(item, Node) else [(frozenset(item), frozenset())]


def _cheapest(needs: list[Need], phrases: dict[int, Phrase]) -> Need | None:
    return min(needs, key=lambda need: _cost(need, phrases)) if needs else None


def presearch(node: Node, phrases: dict[int, Phrase]) -> list[Need]:
    """The (at most two) key sets an event is indexed under: it is evaluated on an article only when that has a
    term or actor of each (Lucene Monitor's term selection: the rarest keys, and two rather than one, keep the
    candidates per article few at 10,000 rules; 'drone words AND attack words' waits for both).
    """
    return sorted(set(_needs(node, phrases)), key=lambda need: (_cost(need, phrases), sorted(need[0])))[:2]


def _mask(fields: frozenset[str]) -> int:
    return sum(1 << i for i, name in enumerate(FIELDS) if name in fields)


def _items(items: list[Group | Node] | None) -> list[Any] | None:
    if items is None:
        return None
    return [_spec(i) if isinstance(i, Node) else list(i) for i in items]


def _side(side: Group | Actors) -> Any:
    return (sorted(side.indices),) if isinstance(side, Actors) else list(side)


def _spec(node: Node) -> tuple:
    """A condition tree as the native engine reads it: groups are lists, nodes 8-tuples, actor sides 1-tuples."""
    return (
        _mask(node.fields),
        _items(node.any),
        _items(node.all),
        _items(node.none),
        (_side(node.near[0]), _side(node.near[1])) if node.near else None,
        node.within,
        node.min_hits,
        (sorted(node.actor.indices), node.actor.within) if node.actor else None,
    )


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
    needs = [presearch(node, b.phrases) for node in nodes]
    # (term or actor, event << 1 | which of its key sets): the event is a candidate when all its sets are met
    of_term = [(tid, r << 1 | k) for r, sets in enumerate(needs) for k, (terms, _) in enumerate(sets) for tid in terms]
    of_actor = [(a, r << 1 | k) for r, sets in enumerate(needs) for k, (_, actors) in enumerate(sets) for a in actors]
    engine = Engine(
        len(b.labels),
        len(rules.actors),
        [(tid, list(p.words), p.exact and list(p.exact), p.exact_open) for tid, p in b.phrases.items()],
        [(tid, a) for tid, actors in actor_terms.items() for a in actors],
        [(tid, a) for tid, actors in exclude_terms.items() for a in actors],
        [_spec(node) for node in nodes],
        of_term,
        of_actor,
        [len(sets) for sets in needs],
    )
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
        origins=b.origins,
        phrases=b.phrases,
        regex_ids=[tid for tid, _, _ in b.regex_terms],
        regexes=regexes,
        regex_set=regex_set,
        engine=engine,
        needs=needs,
    )
