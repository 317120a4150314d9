"""Hostile or broken rule files (issue 17, item 7) fail fast with ``file:line``, never with a traceback, a hang or
gigabytes of memory; a rule's ``topic:`` names a topic Kafka accepts and that is not one of newswatch's own.

Rules are reloaded every 2 s by a running worker: a file that takes seconds and gigabytes to load would stall
or kill every worker sharing the rules directory.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch.core.settings import Settings
from newswatch.core.yamlconf import ConfigError
from newswatch.matcher import load_rules
from newswatch.matcher.load import RULE_FILE_MAX_BYTES
from newswatch.matcher.reload import LiveRules
from newswatch.matcher.topics import RuleTopics
from tests.conftest import ROOT

EVENT = "events:\n  - id: e\n    title: E\n    match: {any: [zeppelin]}\n"


def billion_laughs(levels: int) -> str:
    """Each level a list of nine aliases to the level before: 9**levels strings from a few hundred bytes."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def problems_of(tmp_path: Path, text: str, name: str = "e.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(tmp_path)
    return err.value.problems


def test_an_alias_bomb_is_refused_at_its_line_in_milliseconds_and_megabytes(tmp_path: Path) -> None:
    """The issue's 449-byte bomb took 12.7 s and 454 MB to load (and rules reload every 2 s)."""
    bomb = billion_laughs(7)  # 9**7 = 4.8 million strings
    assert len(bomb.encode()) < 500
    (tmp_path / "bomb.yaml").write_text(bomb, encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ConfigError) as err:
            load_rules(tmp_path)
        elapsed, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0 and peak < 20_000_000, (elapsed, peak)
    [problem] = err.value.problems
    assert re.match(rf"{re.escape(str(tmp_path / 'bomb.yaml'))}:\d+:\d+: invalid YAML: aliases expand", problem)
    assert "reuse an anchor fewer times" in problem


def test_ordinary_alias_reuse_still_loads(tmp_path: Path) -> None:
    rules = (
        "lists:\n  words: &words [zeppelin, airship, blimp]\n"
        "events:\n"
        "  - {id: a, title: A, match: {any: *words}}\n"
        "  - {id: b, title: B, match: {any: *words}}\n"
    )
    (tmp_path / "e.yaml").write_text(rules, encoding="utf-8")
    assert [e.id for e in load_rules(tmp_path).events] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("lists:\n  x: &a [*a]\n", 2, "contains an alias to itself"),  # a recursive structure, not a RecursionError
        ("lists:\n  x: " + "[" * 80 + "]" * 80 + "\n", 2, "nested more than 64 levels"),
        ("".join("  " * i + "a:\n" for i in range(300)) + "  " * 300 + "b: 1\n", 65, "nested more than 64 levels"),
        # deep enough that ruamel's recursive composer overflows the stack before any check can run
        ("lists:\n  x: " + "[" * 5000 + "]" * 5000 + "\n", 2, "nested more than 64 levels"),
        (EVENT + "    description: 2001-13-45\n", 5, "cannot read this value (month must be in 1..12)"),
        (EVENT + "    description: !!int 0x\n", 5, "cannot read this value"),
        (EVENT + "    description: " + "9" * 5000 + "\n", 5, "cannot read this value"),
        ("- just a list\n", 1, "(top level)"),
    ],
    ids=[
        "recursive alias",
        "deep flow",
        "deep block",
        "past the stack",
        "bad date",
        "bad int tag",
        "huge int",
        "not a mapping",
    ],
)
def test_broken_yaml_is_an_error_at_its_line_not_a_traceback(tmp_path: Path, text: str, line: int, words: str) -> None:
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith(f"{tmp_path / 'e.yaml'}:{line}:"), problem
    assert words in problem, problem


def test_a_rule_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    padding = "# " + "x" * 78 + "\n"
    [problem] = problems_of(tmp_path, EVENT + padding * (RULE_FILE_MAX_BYTES // len(padding) + 1))
    assert problem.startswith(f"{tmp_path / 'e.yaml'}:1:") and "262,144-byte limit" in problem, problem


def test_a_bomb_edited_into_live_rules_is_refused_quickly_and_the_good_rules_stay(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text(EVENT, encoding="utf-8")
    live = LiveRules(tmp_path)
    (tmp_path / "bomb.yaml").write_text(billion_laughs(7), encoding="utf-8")
    started = time.perf_counter()
    assert live.check() is None
    assert time.perf_counter() - started < 2.0
    assert live.error and "aliases expand" in live.error
    assert [e.id for e in live.matcher.rules.events] == ["e"]


TOPIC_EVENT = "events:\n  - id: e\n    title: E\n    topic: {topic}\n    match: {{any: [zeppelin]}}\n"


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("articles", ["one of newswatch's own topics", "alerts.articles"]),
        ("alerts", ["one of newswatch's own topics"]),  # every alert would arrive there twice
        ("feed-state", ["one of newswatch's own topics"]),
        ("articles.dead-letter", ["one of newswatch's own topics"]),
        ("newswatch-matches", ["the worker's internal topics"]),
        ("newswatch-route-state-changelog", ["the worker's internal topics"]),
        ("'not a valid/topic name'", ["not a Kafka topic name", "' ', '/'", "'alerts.not-a-valid-topic-name'"]),
        ("alerts.é", ["not a Kafka topic name"]),
        ("alerts." + "x" * 243, ["250 characters", "limit of 249"]),
        ("diplomacy", ["must start with 'alerts.'", "e.g. 'alerts.diplomacy'"]),
        ("alerts.", ["must start with 'alerts.'"]),
        ("'..'", ["not a Kafka topic name"]),
    ],
)
def test_a_rule_topic_kafka_refuses_or_newswatch_owns_is_an_error_at_its_line(
    tmp_path: Path, topic: str, words: list[str]
) -> None:
    [problem] = problems_of(tmp_path, TOPIC_EVENT.format(topic=topic))
    assert problem.startswith(f"{tmp_path / 'e.yaml'}:4:5: events.0.topic: "), problem
    for word in words:
        assert word in problem, problem


def test_rule_topics_follow_the_deployments_topic_names(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text(TOPIC_EVENT.format(topic="alerts.conflict"), encoding="utf-8")
    assert load_rules(tmp_path).events[0].topic == "alerts.conflict"
    renamed = RuleTopics.from_settings(Settings(alerts_topic="prod.alerts", articles_topic="prod.alerts.in"))
    (tmp_path / "e.yaml").write_text(TOPIC_EVENT.format(topic="prod.alerts.conflict"), encoding="utf-8")
    assert load_rules(tmp_path, renamed).events[0].topic == "prod.alerts.conflict"
    (tmp_path / "e.yaml").write_text(TOPIC_EVENT.format(topic="alerts.conflict"), encoding="utf-8")
    assert load_rules(tmp_path, renamed).events[0].topic == "alerts.conflict"  # the shipped rules stay valid
    (tmp_path / "e.yaml").write_text(TOPIC_EVENT.format(topic="prod.alerts.in"), encoding="utf-8")
    with pytest.raises(ConfigError, match="one of newswatch's own topics"):
        load_rules(tmp_path, renamed)
    (tmp_path / "e.yaml").write_text(TOPIC_EVENT.format(topic="prod.conflict"), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("must start with 'alerts.' or 'prod.alerts.'")):
        load_rules(tmp_path, renamed)


def test_the_shipped_rules_name_valid_topics() -> None:
    topics = {e.topic for e in load_rules(ROOT / "config" / "rules").events}
    assert topics - {None} == {"alerts.conflict", "alerts.diplomacy"}


# Random rule YAML: pieces of real rule files, YAML's own punctuation (anchors, aliases, tags, flow brackets,
# block scalars, merge keys) and mutations of a valid file.
SEED = (ROOT / "config" / "rules" / "events" / "diplomacy.yaml").read_text(encoding="utf-8")[:3000]
TOKENS = [
    "events:",
    "lists:",
    "actors:",
    "\n",
    "\n  ",
    "\n    ",
    "- ",
    "id: ",
    "title: ",
    "topic: ",
    "match: ",
    "any: ",
    "all: ",
    "none: ",
    "near: ",
    "within: ",
    "regex: ",
    "&a ",
    "&b ",
    "*a",
    "*b",
    "<<: ",
    "!!int ",
    "!!omap ",
    "!!binary ",
    "!!timestamp ",
    "!foo ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\t",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "2001-13-45",
    "0x",
    "1e999",
    "9" * 50,
    "alerts.x",
    "articles",
    "$list",
    "zeppelin*",
]
_chars = st.characters(blacklist_categories=("Cs",))
_tokens = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(_chars, max_size=8)), max_size=80).map("".join)


@st.composite
def _mutated_seed(draw: st.DrawFn) -> str:
    text = SEED
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 20))
        text = text[:at] + draw(st.one_of(st.sampled_from(TOKENS), st.text(_chars, max_size=5))) + text[at + cut :]
    return text


@st.composite
def _nested_aliases(draw: st.DrawFn) -> str:
    levels, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = ["lists:", "  l0: &l0 [a, b, c]"]
    lines += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n" + EVENT


@pytest.mark.fuzz
@given(st.one_of(_tokens, _mutated_seed(), _nested_aliases()))
def test_random_rule_yaml_loads_or_is_an_error_with_file_and_line(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    folder = tmp_path_factory.mktemp("rules")
    path = folder / "e.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    try:
        load_rules(folder)
    except ConfigError as exc:
        for problem in exc.problems:
            assert re.match(rf"{re.escape(str(path))}:\d+(:\d+)?: ", problem), problem
    assert time.perf_counter() - started < 5.0
