"""One pass over an article's text: every occurrence of every term (automaton + RE2 set) and every actor mention.

Hits are plain tuples ``(field, start, end, term id)`` because an article yields thousands of candidate
positions at 10,000 rules and objects would dominate the cost; the engine turns the few that end up as evidence
into ``Hit`` objects. Actor mentions use the term id of the alias that named the actor.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from typing import Any

from matcher.compile import FIELDS, Compiled
from matcher.terms import fold, translate

RawHit = tuple[str, int, int, int]
WORD = re.compile(r"\w+")


def article_fields(article: dict[str, Any]) -> dict[str, str]:
    """The non-empty text fields of an article that rules look at (``text`` is the offline input's body)."""
    fields = {}
    for name in FIELDS:
        value = article.get(name)
        if isinstance(value, str) and value:
            fields[name] = value
    return fields


class Scan:
    """The terms and actors found in one article, and word positions for proximity (computed on demand)."""

    def __init__(self, compiled: Compiled, fields: dict[str, str]) -> None:
        self.compiled = compiled
        self.fields = fields
        self.hits: dict[int, list[RawHit]] = defaultdict(list)
        self._words: dict[str, list[int]] = {}
        for name, text in fields.items():
            self._phrases(name, fold(text), compiled.folded)
            if compiled.cased is not None:
                self._phrases(name, translate(text), compiled.cased)
            if compiled.regex_set is not None:
                self._regexes(name, text)
        self.mentions = self._mentions()

    def _phrases(self, name: str, text: str, automaton: Any) -> None:
        if automaton is None:
            return
        phrases = self.compiled.phrases
        hits = self.hits
        for last, (length, tids) in automaton.iter(text):
            start, key_end = last - length + 1, last + 1
            for tid in tids:
                end = phrases[tid].confirm(text, start, key_end)
                if end >= 0:
                    hits[tid].append((name, start, end, tid))

    def _regexes(self, name: str, text: str) -> None:
        compiled = self.compiled
        for index in compiled.regex_set.Match(text) or ():
            tid = compiled.regex_ids[index]
            for m in compiled.regexes[index].finditer(text):
                if m.end() > m.start():
                    self.hits[tid].append((name, m.start(), m.end(), tid))

    def _mentions(self) -> dict[int, list[RawHit]]:
        """Actor index -> its mentions, without those inside one of the actor's ``exclude`` phrases."""
        compiled = self.compiled
        mentions: dict[int, list[RawHit]] = defaultdict(list)
        excluded: dict[int, list[RawHit]] = defaultdict(list)
        for tid, hits in self.hits.items():
            for actor in compiled.exclude_terms.get(tid, ()):
                excluded[actor].extend(hits)
            for actor in compiled.actor_terms.get(tid, ()):
                mentions[actor].extend(hits)
        for actor, found in mentions.items():
            if actor in excluded:
                spans = excluded[actor]
                found[:] = [h for h in found if not any(e[0] == h[0] and e[1] <= h[1] and h[2] <= e[2] for e in spans)]
            found.sort()
            # "North Korea" and "Korea" may both be aliases; a mention inside a longer one is the same mention
            found[:] = [
                h for i, h in enumerate(found) if not (i and found[i - 1][0] == h[0] and h[1] < found[i - 1][2])
            ]
        return {actor: found for actor, found in mentions.items() if found}

    def words(self, name: str) -> list[int]:
        """Start offsets of the words of field ``name`` (for word distances)."""
        starts = self._words.get(name)
        if starts is None:
            starts = self._words[name] = [m.start() for m in WORD.finditer(self.fields[name])]
        return starts

    def word_span(self, hit: RawHit) -> tuple[int, int]:
        """The indices of the first and last word of ``hit``."""
        starts = self.words(hit[0])
        return bisect_right(starts, hit[1]) - 1, bisect_right(starts, hit[2] - 1) - 1

    def gap(self, a: RawHit, b: RawHit) -> int | None:
        """Words between two hits (1 = adjacent), or None when they are in different fields or overlap."""
        if a[0] != b[0] or (a[1] < b[2] and b[1] < a[2]):
            return None
        a0, a1 = self.word_span(a)
        b0, b1 = self.word_span(b)
        return max(b0 - a1, a0 - b1)
