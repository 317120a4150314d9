"""The matcher decides every alert: the seed story gives its three events, ordinary news none."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import Matcher, load_rules
from newswatch.yamlconf import ConfigError
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(ROOT / "config" / "rules.yaml"))


def seed_article(shared_data: Path) -> dict:
    text = (shared_data / "seed-article.txt").read_text(encoding="utf-8")
    return {"id": "seed", "title": "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia", "content": text}


def test_seed_story_matches_its_three_events(matcher: Matcher, shared_data: Path) -> None:
    found = {m.rule.id: m for m in matcher.match(seed_article(shared_data))}
    assert set(found) == {"foreign-fighters", "drone-attack", "ceasefire-talks"}
    assert found["foreign-fighters"].hits[0].term == "Mercenaries"
    assert any(h.term.lower() == "ceasefire" for h in found["ceasefire-talks"].hits)


def test_keywords_are_whole_words(matcher: Matcher) -> None:
    assert matcher.match({"id": "x", "title": "Struce and truces", "content": "attrucer"}) == []


def test_hits_carry_offsets_and_snippets(matcher: Matcher) -> None:
    (match,) = matcher.match({"id": "x", "content": "Talks on a truce resumed."})
    hit = match.hits[0]
    assert (hit.start, hit.end, hit.field) == (11, 16, "content")
    assert "truce" in hit.snippet


def test_rules_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("events:\n  - id: x\n    title: X\n    keywords: []\n    severty: high\n")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert f"{path}:4: events.0.keywords" in str(err.value)
    assert f"{path}:5: events.0.severty: unknown key 'severty'" in str(err.value)
