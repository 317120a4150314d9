"""What the native scanner is given for one article, and the full scan that explanations look at.

The scanner (matcher/native) gets each text field as written (it folds it as ``terms.fold`` folds the terms),
plus the hits of the RE2 regex terms, which stay in Python: they are rare and RE2's Python binding already scans
in C++. Hits are plain tuples ``(field, start, end, term id)`` with code point offsets into the field as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newswatch.matcher.compile import FIELDS, Compiled

RawHit = tuple[str, int, int, int]
NativeHit = tuple[int, int, int, int]  # the field as its index in FIELDS
FIELD_INDEX = {name: i for i, name in enumerate(FIELDS)}
_SURROGATE = re.compile("[\ud800-\udfff]")


def article_fields(article: dict[str, Any]) -> dict[str, str]:
    """The non-empty text fields of an article that rules look at (``text`` is the offline input's body)."""
    fields = {}
    for name in FIELDS:
        value = article.get(name)
        if isinstance(value, str) and value:
            fields[name] = value
    return fields


def native_input(compiled: Compiled, fields: dict[str, str]) -> tuple[list[tuple[int, str]], list[NativeHit]]:
    """The scanner's arguments for ``fields``: (index, text) per field, and the regex terms' hits."""
    texts = [(FIELD_INDEX[name], text) for name, text in fields.items()]
    regex_hits: list[NativeHit] = []
    if compiled.regex_set is not None:
        for name, text in fields.items():
            for index in compiled.regex_set.Match(text) or ():
                tid = compiled.regex_ids[index]
                regex = compiled.regexes[index]
                # A regex that reads past its word to stand in for a lookahead (RE2 has none) names the word
                # itself ``(?P<hit>...)``: that is the hit's span, what a reader sees highlighted.
                group = regex.groupindex.get("hit", 0)
                for m in regex.finditer(text):
                    start, end = m.span(group)
                    if end > start:
                        regex_hits.append((FIELD_INDEX[name], start, end, tid))
    return texts, regex_hits


def native(method: Callable[..., Any], compiled: Compiled, fields: dict[str, str]) -> Any:
    """``method`` (the engine's ``analyze`` or ``scan``) on ``fields``.

    A lone surrogate (a JSON "\\ud800" escape) has no UTF-8 form, so the core cannot take it: such a text goes in
    with U+FFFD in its place, which like a surrogate is neither a word character nor a space and keeps every
    offset (only a snippet shows the difference).
    """
    try:
        # RE2 (the regex terms, in native_input) encodes the text too: both go inside the fallback, or a
        # surrogate in an article raised before it was reached (the worker cleans its input at decode already;
        # this keeps the offline commands, `classify` and `rules test`, from failing on one).
        return method(*native_input(compiled, fields))
    except UnicodeEncodeError:
        cleaned = {name: _SURROGATE.sub("\ufffd", text) for name, text in fields.items()}
        return method(*native_input(compiled, cleaned))


@dataclass
class Scan:
    """Every term and actor mention found in one article (term id / actor index -> hits, in text order)."""

    fields: dict[str, str]
    hits: dict[int, list[RawHit]]
    mentions: dict[int, list[RawHit]]


def scan(compiled: Compiled, fields: dict[str, str]) -> Scan:
    """The full scan of ``fields``: what ``rules check`` shows when an example fails (not used to match)."""
    hits, mentions = native(compiled.engine.scan, compiled, fields)
    by_term: dict[int, list[RawHit]] = {}
    for field, start, end, tid in hits:
        by_term.setdefault(tid, []).append((FIELDS[field], start, end, tid))
    return Scan(
        fields,
        by_term,
        {actor: [(FIELDS[f], s, e, t) for f, s, e, t in found] for actor, found in mentions},
    )
