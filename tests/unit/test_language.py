"""Every construct of the rule language, one data-driven case each (tests/fixtures/rules/language.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from newswatch.matcher import Matcher, load_rules
from tests.conftest import FIXTURES

CASES = YAML(typ="safe").load((FIXTURES / "rules" / "language.yaml").read_text(encoding="utf-8"))
ACTORS = (FIXTURES / "rules" / "actors.yaml").read_text(encoding="utf-8")


def matcher_for(tmp_path: Path, match: dict[str, Any]) -> Matcher:
    """A rule set of the fixture actors and lists plus one event 'e' with ``match``."""
    import json

    (tmp_path / "actors.yaml").write_text(ACTORS, encoding="utf-8")
    (tmp_path / "events.yaml").write_text(
        f"events:\n  - id: e\n    title: E\n    match: {json.dumps(match, ensure_ascii=False)}\n", encoding="utf-8"
    )
    return Matcher(load_rules(tmp_path))


def article(text: str | dict[str, str]) -> dict[str, str]:
    return {"id": "a", **text} if isinstance(text, dict) else {"id": "a", "content": text}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_construct(case: dict[str, Any], tmp_path: Path) -> None:
    matcher = matcher_for(tmp_path, case["match"])
    for text in case["yes"]:
        assert [m.rule.id for m in matcher.match(article(text))] == ["e"], f"should match: {text!r}"
    for text in case["no"]:
        assert matcher.match(article(text)) == [], f"should not match: {text!r}"


def test_hits_carry_offsets_snippets_and_the_rule_term(tmp_path: Path) -> None:
    matcher = matcher_for(tmp_path, {"any": ["truce", "наемник*"]})
    (match,) = matcher.match({"id": "x", "title": "Наёмники", "content": "Talks on a truce resumed."})
    title, body = match.hits
    assert (body.term, body.field, body.start, body.end, body.pattern) == ("truce", "content", 11, 16, "truce")
    assert body.snippet == "Talks on a truce resumed."
    assert (title.term, title.field, title.pattern) == ("Наёмники", "title", "наемник*")


def test_actors_are_counted_with_nearness(tmp_path: Path) -> None:
    matcher = matcher_for(tmp_path, {"any": ["troops"]})
    text = "Chinese troops arrived. " + "filler " * 40 + "Russia and the Kremlin said nothing."
    (match,) = matcher.match(article(text))
    actors = {a.id: a for a in match.actors}
    assert (actors["china"].count, actors["china"].near) == (1, True)
    assert (actors["russia"].count, actors["russia"].near) == (2, False)
    assert 0 < match.score < 1


def test_catastrophic_regex_input_stays_linear(tmp_path: Path) -> None:
    """(a+)+$ takes exponential time in a backtracking engine; RE2 answers in linear time."""
    import time

    matcher = matcher_for(tmp_path, {"any": [{"regex": "(a+)+$"}]})
    text = "a" * 50_000 + "!"
    started = time.perf_counter()
    assert matcher.match(article(text)) == []
    assert time.perf_counter() - started < 1.0
