"""Terms as the engine sees them: text folding, and each phrase split into an automaton key plus a check.

A phrase term is found in two steps. The Aho-Corasick automaton finds its *key* (the literal letters of its first
word, up to any ``*``) anywhere in the folded text; the candidate is then confirmed at that position: a word
boundary on the left, the rest of the phrase (``\\s+`` between words, ``\\w*`` after a stem) and a word boundary on
the right. Every pattern built here is a plain sequence with no nested repetition, so confirming is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Same-length replacements applied to text and terms alike, so offsets into the folded text are offsets into the
# original: Russian ё is written as е by most outlets, and typographic apostrophes and hyphens vary by site.
_SAME_LENGTH = str.maketrans({"ё": "е", "Ё": "Е", "’": "'", "‘": "'", "ʼ": "'", "‐": "-", "‑": "-", "\u00a0": " "})
WORD_TAIL = re.compile(r"\w*")


def translate(text: str) -> str:
    """``text`` with the same-length replacements (for case-sensitive terms)."""
    return text.translate(_SAME_LENGTH)


def fold(text: str) -> str:
    """Lower-cased ``text`` with the same length, so offsets stay valid (Unicode: 'КИЕВ' -> 'киев')."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lower to two ('İ' -> 'i̇'); keep their first to keep offsets
        low = "".join(c.lower()[0] for c in text)
    return low.translate(_SAME_LENGTH)


def is_word_char(char: str) -> bool:
    """What ``\\w`` means: a letter, digit or underscore in any script."""
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase term: the automaton key and how to confirm a candidate at the key's position."""

    key: str
    case: bool
    stem_end: bool  # the last word ends in '*'
    rest: re.Pattern[str] | None  # the whole phrase, anchored at the key's start; None for a single word

    def confirm(self, text: str, start: int, key_end: int) -> int:
        """The end of the phrase starting at ``start`` in ``text`` (``key_end`` is where the key ends), or -1."""
        if start > 0 and is_word_char(text[start - 1]):
            return -1
        if self.rest is not None:
            m = self.rest.match(text, start)
            return m.end() if m else -1
        if self.stem_end:
            return WORD_TAIL.match(text, key_end).end()
        if key_end < len(text) and is_word_char(text[key_end]):
            return -1
        return key_end


def compile_phrase(phrase: str, case: bool) -> Phrase:
    """``"drone* attack*"`` -> key ``"drone"``, confirmed by ``drone\\w*\\s+attack\\w*``."""
    text = translate(phrase) if case else fold(phrase)
    words = text.split()
    parts = []
    for word in words:
        stem = word.endswith("*")
        parts.append(re.escape(word.rstrip("*")) + (r"\w*" if stem else ""))
    stem_end = words[-1].endswith("*")
    rest = None
    if len(words) > 1:
        rest = re.compile(r"\s+".join(parts) + ("" if stem_end else r"(?!\w)"))
    return Phrase(key=words[0].rstrip("*"), case=case, stem_end=stem_end, rest=rest)
