"""What identifies an article's story: its URL, its title reduced to words, and a SimHash of its text.

Computed once per matched article by the classify agent (``story_of``), carried with each of its matches, and
compared by the route agent's story decision (alerts.stories).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from newswatch_scan import simhash_text

_WORD = re.compile(r"\w+", re.UNICODE)
SIMHASH_BITS = 64

_BIT = [bytes(value >> bit & 1 for value in range(256)) for bit in range(8)]  # byte -> its bit ``bit`` (0/1)


def simhash(text: str) -> int:
    """A 64-bit SimHash of the text's word 3-shingles (Charikar): near-identical texts get near-identical hashes.

    The words are Python's (``\\w``, ``str.lower``). Splitting them, hashing their shingles (BLAKE2b-64) and counting
    bits is done natively (matcher/native/src/simhash.rs): in Python it was a tenth of the worker's time, run for
    every article that matches a rule. ``simhash_python`` is the definition in Python, for the tests to compare.
    """
    return simhash_text(text)


def simhash_python(text: str) -> int:
    """:func:`simhash` in Python alone: the definition the native one is tested against."""
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))] if words else []
    hashes = b"".join(hashlib.blake2b(shingle.encode(), digest_size=8).digest() for shingle in shingles)
    result = 0
    for byte in range(8):  # byte 0 is the least significant: the last of each big-endian digest
        column = hashes[7 - byte :: 8]
        for bit in range(8):
            # a bit is set when more shingles have it than not (the sum of +1/-1 weights is positive)
            if 2 * column.translate(_BIT[bit]).count(1) > len(shingles):
                result |= 1 << (8 * byte + bit)
    return result


def title_key(title: str) -> str:
    """The title reduced to its lower-cased words, so punctuation and case changes are the same title."""
    return " ".join(w.lower() for w in _WORD.findall(title or ""))


def fingerprint_text(article: dict[str, Any]) -> str:
    """The part of an article that identifies the story: title and the start of its text."""
    body = article.get("content") or article.get("summary") or article.get("text") or ""
    return f"{article.get('title') or ''} {body[:2000]}"


def story_of(article: dict[str, Any]) -> dict[str, Any]:
    """What the dedup state needs of an article (small: it travels with every match and lives in a table)."""
    return {
        "article_id": article.get("id"),
        "url": article.get("url"),
        "title": title_key(article.get("title", "")),
        "fp": simhash(fingerprint_text(article)),
        "source": article.get("source"),
        "feed_id": article.get("feed_id"),
    }
