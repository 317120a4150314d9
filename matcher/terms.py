"""Terms as the engine sees them: text folding, and each phrase term split into what the native scanner checks.

Text and terms are folded the same way, keeping every offset: lower case (Unicode), ё -> е. The scanner
(matcher/native) then joins the text's words (runs of letters, digits and '_') with one space and puts a space
on both sides. An automaton key starts with a space, so it can only match at the start of a word: " truce " is a
whole word, " mercenar" a stem (the word runs on to its end), " peace talks " a phrase; a phrase with a stem is
keyed up to its first stem and its other words are then confirmed one by one. Punctuation therefore separates
words like a space does: the phrase "cease fire" also finds "cease-fire", and "peace talks" finds "peace, talks".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NON_WORD = re.compile(r"\W")
# Russian ё is written as е by most outlets; the same length keeps offsets valid.
_SAME_LENGTH = {"ё": "е", "Ё": "Е"}

Words = tuple[tuple[str, bool], ...]  # (word, is a stem)


def fold(text: str) -> str:
    """Lower-cased ``text`` with the same length, so offsets stay valid (Unicode: 'КИЕВ' -> 'киев')."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lower to two ('İ' -> 'i̇'); keep their first to keep offsets
        low = "".join(c.lower()[0] for c in text)
    for old, new in _SAME_LENGTH.items():
        if old in low:
            low = low.replace(old, new)
    return low


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase term: its normalised words (what the automaton finds) and, when case-sensitive, as written."""

    words: Words  # matched on the folded text, punctuation as spaces
    exact: Words | None = None  # case-sensitive terms: the words as written, matched on the original text
    exact_open: bool = False  # the term as written ends in '*': no end-of-word check after its last word


def _words(phrase: str) -> list[str]:
    """The normalised words of a term; a trailing '*' stays on its word."""
    words = []
    for raw in fold(phrase).split():
        stem = raw.endswith("*")
        words += [w for w in _NON_WORD.sub(" ", raw.rstrip("*")).split() if w]
        if stem:
            words[-1] += "*"
    return words


def _split(words: list[str]) -> Words:
    return tuple((w.rstrip("*"), w.endswith("*")) for w in words)


def compile_phrase(phrase: str, case: bool) -> Phrase:
    """``"drone* attack*"`` -> the words drone (a stem) and attack (a stem); ``"U.S."`` -> u, s.

    Case-sensitive terms share the automaton (one pass over the text for all terms) and are then checked as
    written (words separated by whitespace) on the original text.
    """
    words = _words(phrase)
    if not words:
        raise ValueError(f"term {phrase!r} has no letters or digits")
    exact = _split(phrase.split()) if case else None
    return Phrase(_split(words), exact, phrase.endswith("*"))
