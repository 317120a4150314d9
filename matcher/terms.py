"""Terms as the engine sees them: text normalisation, and each phrase split into an automaton key plus a check.

Text and terms are normalised the same way, keeping every offset: lower case (Unicode), ё -> е, and every
character that is not a letter, digit or '_' becomes a space; the text is padded with a space on both sides.
An automaton key then starts with a space, so it can only match at the start of a word: " truce " is a whole
word (no further check), " mercenar" a stem (the word runs to the next space), " peace" the first word of a
phrase whose remaining words are confirmed by a small anchored regex. Punctuation therefore separates words like
a space does: the phrase "cease fire" also finds "cease-fire", and "peace talks" finds "peace, talks".
Every pattern built here is a plain sequence with no nested repetition, so confirming is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NON_WORD = re.compile(r"\W")
# Russian ё is written as е by most outlets; the same length keeps offsets valid.
_SAME_LENGTH = {"ё": "е", "Ё": "Е"}

WORD = 0  # a whole single word: the key " word " says it all
STEM = 1  # a single word stem: the key " stem", then the word runs to the next space
PHRASE = 2  # several words: the key is the first word (or stem), the rest is confirmed by a regex


def fold(text: str) -> str:
    """Lower-cased ``text`` with the same length, so offsets stay valid (Unicode: 'КИЕВ' -> 'киев')."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lower to two ('İ' -> 'i̇'); keep their first to keep offsets
        low = "".join(c.lower()[0] for c in text)
    for old, new in _SAME_LENGTH.items():
        if old in low:
            low = low.replace(old, new)
    return low


def normalise(text: str) -> str:
    """The text the automaton runs on: folded, punctuation as spaces, one space of padding on each side."""
    return " " + _NON_WORD.sub(" ", fold(text)) + " "


def is_word_char(char: str) -> bool:
    """What ``\\w`` means: a letter, digit or underscore in any script."""
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase term: its automaton key, its kind and what confirms a candidate."""

    key: str
    kind: int
    rest: re.Pattern[str] | None = None  # PHRASE: the whole phrase, matched on the normalised text
    exact: re.Pattern[str] | None = None  # case-sensitive terms: the phrase as written, on the original text


def _words(phrase: str) -> list[str]:
    """The normalised words of a term; a trailing '*' stays on its word."""
    words = []
    for raw in fold(phrase).split():
        stem = raw.endswith("*")
        words += [w for w in _NON_WORD.sub(" ", raw.rstrip("*")).split() if w]
        if stem:
            words[-1] += "*"
    return words


def compile_phrase(phrase: str, case: bool) -> Phrase:
    """``"drone* attack*"`` -> key ``" drone"`` confirmed by ``drone\\w*\\s+attack\\w*``; ``"truce"`` -> ``" truce "``.

    Case-sensitive terms share the automaton (one pass over the text for all terms) and are then checked as
    written on the original text.
    """
    words = _words(phrase)
    exact = None
    if case:
        parts = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in phrase.split()]
        exact = re.compile(r"\s+".join(parts) + ("" if phrase.endswith("*") else r"(?!\w)"))
    first = words[0]
    if len(words) == 1:
        if first.endswith("*"):
            return Phrase(" " + first[:-1], STEM, exact=exact)
        return Phrase(f" {first} ", WORD, exact=exact)
    parts = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in words]
    rest = re.compile(r" +".join(parts) + r"(?!\w)" if not words[-1].endswith("*") else r" +".join(parts))
    return Phrase(" " + first.rstrip("*"), PHRASE, rest=rest, exact=exact)
