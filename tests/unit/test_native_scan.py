"""The native core (matcher/native) on the edge cases of text handling: scripts, offsets, stems, case, actors.

Offsets are Python code point offsets into the field as written, whatever the bytes in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newswatch.matcher import Matcher, RuleSet
from newswatch.matcher.model import Actor, Event


def matcher(match: dict[str, Any], actors: list[dict[str, Any]] | None = None) -> Matcher:
    event = Event.model_validate({"id": "e", "title": "E", "match": match})
    return Matcher(RuleSet(events=[event], actors=[Actor.model_validate(a) for a in actors or []]))


def spans(m: Matcher, text: str, field: str = "content") -> list[tuple[str, int, int, str]]:
    """(found text, start, end, pattern) of every hit of the one event, or [] when it does not match."""
    found = m.match({"id": "a", field: text})
    assert all(h.term == text[h.start : h.end] for e in found for h in e.hits)
    return [(h.term, h.start, h.end, h.pattern) for e in found for h in e.hits]


def _gen_tables() -> Any:
    """matcher/native/gen_tables.py, the script that wrote the tables (not a package: loaded by path)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "matcher" / "native" / "gen_tables.py"
    spec = importlib.util.spec_from_file_location("gen_tables", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_python_word_and_space_tables_are_built_in() -> None:
    """The core splits words with Python's \\w and \\s; its tables must be this Python's (gen_tables.py)."""
    from newswatch_scan import char_tables

    word, space = char_tables()
    ranges = _gen_tables().ranges

    assert word == ranges(lambda c: c.isalnum() or c == "_")
    assert space == ranges(str.isspace)


def test_cyrillic_words_and_stems_fold_case_and_yo() -> None:
    m = matcher({"any": ["наемник*", "Киев", "беспилотник атаковал"]})
    text = "НАЁМНИКИ в Киеве; Киев: «Беспилотник — атаковал» склад"
    assert spans(m, text) == [
        ("НАЁМНИКИ", 0, 8, "наемник*"),
        ("Киев", 18, 22, "Киев"),
        ("Беспилотник — атаковал", 25, 47, "беспилотник атаковал"),
    ]


def test_offsets_after_multibyte_characters() -> None:
    m = matcher({"any": ["drone strike*", "kyiv"]})
    text = "🇺🇦 “Kyiv” – a drone… strikes 😀 again: Kyiv"
    assert text.index("drone") == 14 and len(text) == 42  # 🇺🇦 is two code points (regional indicators)
    assert spans(m, text) == [
        ("Kyiv", 4, 8, "kyiv"),
        ("drone… strikes", 14, 28, "drone strike*"),
        ("Kyiv", 38, 42, "kyiv"),
    ]


def test_a_lower_case_that_changes_length_keeps_offsets() -> None:
    """'İ'.lower() is two code points; folding keeps its first so the offsets of what follows stay valid."""
    m = matcher({"any": ["istanbul", "talks"]})
    assert spans(m, "İSTANBUL talks") == [("İSTANBUL", 0, 8, "istanbul"), ("talks", 9, 14, "talks")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hired mercenar", [("mercenar", 6, 14)]),
        ("hired mercenaries", [("mercenaries", 6, 17)]),
        ("mercenaries.", [("mercenaries", 0, 11)]),
        ("mercenar", [("mercenar", 0, 8)]),
    ],
)
def test_stems_at_the_end_of_the_text(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert [s[:3] for s in spans(matcher({"any": ["mercenar*"]}), text)] == expected


def test_a_stem_inside_a_phrase_and_punctuation_between_words() -> None:
    m = matcher({"any": ["drone* attack*", "cease fire"]})
    assert spans(m, "Drones, attacked; a cease-fire and a cease  ,  fire.") == [
        ("Drones, attacked", 0, 16, "drone* attack*"),
        ("cease-fire", 20, 30, "cease fire"),
        ("cease  ,  fire", 37, 51, "cease fire"),
    ]
    assert spans(m, "drone attackers cease firewall") == [("drone attackers", 0, 15, "drone* attack*")]


def test_case_sensitive_terms_check_the_original_text() -> None:
    m = matcher({"any": [{"term": "US", "case": True}, {"term": "U.S.", "case": True}, {"term": "NAT*", "case": True}]})
    assert spans(m, "us and US, the U.S. army, NATO's nato") == [
        ("US", 7, 9, "US"),
        ("U.S.", 15, 19, "U.S."),
        ("NATO", 26, 30, "NAT*"),
    ]
    assert spans(m, "USA and u.s. and Nato") == []


def test_case_sensitive_phrases_after_multibyte_characters() -> None:
    m = matcher({"any": [{"term": "White House", "case": True}]})
    assert spans(m, "“White   House” and white house") == [("White   House", 1, 14, "White House")]


ACTORS = [
    {"id": "korea", "name": "North Korea", "type": "country", "aliases": ["North Korea", "Korea", "DPRK"]},
    {"id": "china", "name": "China", "type": "country", "aliases": ["China"], "demonyms": ["Chinese"]},
]
ACTORS[1]["exclude"] = ["Chinese restaurant*", "Chinese New Year"]


def test_overlapping_aliases_count_once() -> None:
    m = matcher({"any": ["troops"]}, ACTORS)
    (match,) = m.match({"id": "a", "content": "North Korea sent troops; Korea and the DPRK deny it."})
    assert [(a.id, a.count) for a in match.actors] == [("korea", 3)]


def test_exclude_phrases_do_not_count_as_mentions() -> None:
    m = matcher({"any": ["troops"], "actor": {"type": "country"}}, ACTORS)
    assert m.match({"id": "a", "content": "Troops ate at a Chinese restaurant during Chinese New Year."}) == []
    (match,) = m.match({"id": "a", "content": "Chinese troops ate at a Chinese restaurant."})
    assert [(a.id, a.count, a.near) for a in match.actors] == [("china", 1, True)]


def test_near_counts_words_not_characters() -> None:
    m = matcher({"near": [["drone"], ["Київ*"]], "within": 2})
    assert spans(m, "Дрон drone — атакував «Київщину»") == [("drone", 5, 10, "drone"), ("Київщину", 23, 31, "Київ*")]
    assert spans(m, "drone one two three Київ") == []


def test_scan_lists_every_term_found() -> None:
    m = matcher({"any": ["truce"], "none": ["olympic truce"]})
    scan = m.scan({"id": "a", "title": "Olympic truce", "content": "a truce"})
    labels = {m.compiled.labels[tid]: hits for tid, hits in scan.hits.items()}
    assert labels == {
        "truce": [("title", 8, 13, 0), ("content", 2, 7, 0)],
        "olympic truce": [("title", 0, 13, 1)],
    }


@pytest.mark.parametrize(
    "text",
    [
        "ΟΔΟΣ ΟΔΟΣ. ΟΔΟΣ'Σ Σ ΑΣ1 Σ.Α ὈΔΟΣ\u0345",  # final sigma: word-final, before punctuation, alone
        "İSTANBUL ΟΔΟΣ Ёж",  # 'İ' lowers to two: character by character, no final sigma
        "ǅungla ẞ K Å ﬃ Ǉ ᾼ",  # title case, sharp s, Kelvin, Ångström, ligatures
    ],
)
def test_folding_is_python_lower_case(text: str) -> None:
    from newswatch_scan import fold as native_fold

    from newswatch.matcher.terms import fold

    assert native_fold(text) == fold(text)


def test_folding_every_character_as_python_does() -> None:
    from newswatch_scan import fold as native_fold

    from newswatch.matcher.terms import fold

    chars = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for lo in range(0, len(chars), 4096):
        chunk = " ".join(chars[lo : lo + 4096])
        assert native_fold(chunk) == fold(chunk), lo


def test_a_lone_surrogate_does_not_stop_matching() -> None:
    import json

    text = json.loads('"a truce \\ud800 here, truce"')
    assert [s[:3] for s in spans(matcher({"any": ["truce"]}), text)] == [("truce", 2, 7), ("truce", 16, 21)]
