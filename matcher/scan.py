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

from matcher import terms
from matcher.compile import FIELDS, Compiled

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
        self._spans: dict[RawHit, tuple[int, int]] = {}
        for name, text in fields.items():
            self._phrases(name, text)
            if compiled.regex_set is not None:
                self._regexes(name, text)
        self.mentions = self._mentions()

    def _phrases(self, name: str, original: str) -> None:
        """Every phrase term in one field; offsets are into ``original`` (the padding space is subtracted)."""
        automaton = self.compiled.folded
        if automaton is None:
            return
        text = terms.normalise(original)
        phrases = self.compiled.phrases
        hits = self.hits
        find = text.find
        for last, (length, tids) in automaton.iter(text):
            start = last - length + 1  # the key's leading space in ``text`` = the word's start in ``original``
            for tid in tids:
                phrase = phrases[tid]
                kind = phrase.kind
                if kind == terms.WORD:
                    end = last - 1
                elif kind == terms.STEM:
                    end = find(" ", last + 1) - 1
                else:
                    m = phrase.rest.match(text, start + 1)  # type: ignore[union-attr]
                    if m is None:
                        continue
                    end = m.end() - 1
                if phrase.exact is not None:
                    m = phrase.exact.match(original, start)
                    if m is None:
                        continue
                    end = m.end()
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
        """The indices of the first and last word of ``hit`` (cached: proximity asks for the same hits often)."""
        span = self._spans.get(hit)
        if span is None:
            starts = self.words(hit[0])
            span = self._spans[hit] = (bisect_right(starts, hit[1]) - 1, bisect_right(starts, hit[2] - 1) - 1)
        return span

    def near_index(self, others: list[RawHit]) -> dict[str, tuple[list[tuple[int, int]], int]]:
        """``others`` as sorted word spans per field, for ``is_near`` (build once, ask many times)."""
        index: dict[str, tuple[list[tuple[int, int]], int]] = {}
        for field in {h[0] for h in others}:
            spans = sorted(self.word_span(h) for h in others if h[0] == field)
            index[field] = (spans, max(e - s for s, e in spans))
        return index

    def is_near(self, hits: list[RawHit], index: dict[str, tuple[list[tuple[int, int]], int]], within: int) -> bool:
        """Whether some hit of ``hits`` is at most ``within`` words from a span of ``index`` (same field).

        Sorted word positions and bisect keep this O(n log m), which matters when an article names an actor
        dozens of times and an event has dozens of hits.
        """
        for hit in hits:
            entry = index.get(hit[0])
            if entry is None:
                continue
            spans, longest = entry
            start, end = self.word_span(hit)
            lo = bisect_right(spans, (start - within - longest - 1, 1 << 30))
            for other_start, other_end in spans[lo:]:
                if other_start > end + within:
                    break
                if max(other_start - end, start - other_end) <= within and (other_start, other_end) != (start, end):
                    return True
        return False

    def gap(self, a: RawHit, b: RawHit) -> int | None:
        """Words between two hits (1 = adjacent), or None when they are in different fields or overlap."""
        if a[0] != b[0] or (a[1] < b[2] and b[1] < a[2]):
            return None
        a0, a1 = self.word_span(a)
        b0, b1 = self.word_span(b)
        return max(b0 - a1, a0 - b1)
