"""Every kind of rule-file mistake is reported with file:line:column and a hint (data-driven)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.core.yamlconf import ConfigError
from newswatch.matcher import load_rules
from newswatch.matcher.examples import checked_matcher

EVENT = "events:\n  - id: e\n    title: E\n"

# (name, files {name: text}, file:line:col of the error, words the message must contain)
CASES = [
    # an unclosed bracket is reported where it opens, not where the parser gave up (the next line)
    ("bad YAML", {"e.yaml": EVENT + "    match: {any: [x]\n"}, "e.yaml:4:12", ["invalid YAML", "never closed", "'}'"]),
    (
        "dash without a space",
        {"e.yaml": "events:\n  -id: e\n    title: E\n"},
        "e.yaml:",
        ["invalid YAML", "'- id: ...', not '-id: ...'"],
    ),
    (
        "unknown key",
        {"e.yaml": EVENT + "    match: {any: [x]}\n    severty: high\n"},
        "e.yaml:5:5",
        ["unknown key 'severty'", "spelling"],
    ),
    ("wrong type", {"e.yaml": EVENT + "    match: {any: [x], within: many}\n"}, "e.yaml:4:23", ["whole number"]),
    (
        "bad severity",
        {"e.yaml": EVENT + "    severity: huge\n    match: {any: [x]}\n"},
        "e.yaml:4:5",
        ["'info', 'low', 'medium', 'high' or 'critical'"],
    ),
    ("missing match", {"e.yaml": EVENT}, "e.yaml:2:5", ["match", "add this key"]),
    (
        "duplicate id",
        {"a.yaml": EVENT + "    match: {any: [x]}\n", "b.yaml": EVENT + "    match: {any: [y]}\n"},
        "b.yaml:2:5",
        ["duplicate event id 'e'", "first defined at", "a.yaml:2:5"],
    ),
    (
        "unknown list",
        {"e.yaml": EVENT + "    match:\n      any: [x, $nope]\n"},
        "e.yaml:5:16",
        ["unknown list '$nope'", "lists:"],
    ),
    (
        "unknown actor",
        {"e.yaml": EVENT + "    match: {any: [x], actor: {id: mars}}\n"},
        "e.yaml:4:23",
        ["unknown actor 'mars'", "actors.yaml"],
    ),
    (
        "unknown actor type",
        {"e.yaml": EVENT + "    match: {any: [x], actor: {type: planet}}\n"},
        "e.yaml:4:23",
        ["no actor has type 'planet'"],
    ),
    (
        "invalid regex",
        {"e.yaml": EVENT + "    match:\n      any:\n        - regex: 'a(b'\n"},
        "e.yaml:6:11",
        ["invalid RE2 regex", "missing )"],
    ),
    (
        "regex RE2 cannot run",
        {"e.yaml": EVENT + "    match:\n      any:\n        - regex: '(a)\\1'\n"},
        "e.yaml:6:11",
        ["invalid RE2 regex", "backreferences"],
    ),
    ("short stem", {"e.yaml": EVENT + "    match: {any: [ab*]}\n"}, "e.yaml:4:19", ["stem 'ab*' is too short"]),
    (
        "near without within",
        {"e.yaml": EVENT + "    match: {near: [a, b]}\n"},
        "e.yaml:4:5",
        ["'near' and 'within' go together"],
    ),
    ("only none", {"e.yaml": EVENT + "    match: {none: [a]}\n"}, "e.yaml:4:5", ["no positive term"]),
    (
        "failing example",
        {"e.yaml": EVENT + "    match: {any: [truce]}\n    examples: {match: [a ceasefire]}\n"},
        "e.yaml:2:5",
        ["rule 'e'", "should match but did not", "'a ceasefire'", "none of the rule's terms"],
    ),
    (
        "example that matches wrongly",
        {"e.yaml": EVENT + "    match: {any: [truce]}\n    examples: {no_match: [Olympic truce]}\n"},
        "e.yaml:2:5",
        ["should not match but did", "matched on 'truce'"],
    ),
]


@pytest.mark.parametrize(("name", "files", "where", "words"), CASES, ids=[c[0] for c in CASES])
def test_error_names_file_line_column_and_hint(
    name: str, files: dict[str, str], where: str, words: list[str], tmp_path: Path
) -> None:
    for filename, text in files.items():
        (tmp_path / filename).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        checked_matcher(tmp_path)  # load, compile, run the examples: what a worker and `rules check` do
    message = str(err.value)
    assert f"{tmp_path / where}" in message, message
    for word in words:
        assert word in message, message


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(EVENT + "    match: {any: [x]}\n    colour: red\n")
    (tmp_path / "b.yaml").write_text("events:\n  - id: f\n    title: F\n    match: {any: [$gone]}\n")
    with pytest.raises(ConfigError) as err:
        load_rules(tmp_path)
    assert len(err.value.problems) == 2


def test_missing_rules_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "absent")
