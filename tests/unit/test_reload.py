"""Hot reload: an edit takes effect, an invalid edit keeps the last good rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newswatch.core.yamlconf import ConfigError
from newswatch.matcher.reload import LiveRules

RULE = """events:
  - id: {id}
    title: T
    match: {{any: [{term}]}}
"""


def write(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()  # some filesystems keep mtime at 1 s resolution: force a visible change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def ids(live: LiveRules, text: str) -> list[str]:
    return [m.rule.id for m in live.matcher.match({"id": "a", "title": text})]


def test_an_edit_takes_effect_and_an_invalid_edit_keeps_the_last_good_rules(tmp_path: Path) -> None:
    rules = tmp_path / "events.yaml"
    write(rules, RULE.format(id="truce", term="truce"))
    live = LiveRules(tmp_path)
    assert ids(live, "a truce") == ["truce"] and not live.refresh()
    first = live.version

    write(rules, RULE.format(id="drone", term="drone"))
    assert live.refresh() and ids(live, "a drone") == ["drone"] and live.version != first

    write(rules, "events:\n  - id: broken\n    title: T\n    match: {any: [x]}\n    bogus: 1\n")
    assert not live.refresh()
    assert ids(live, "a drone") == ["drone"]  # still the last good set
    assert live.error and f"{rules}:5" in live.error and "bogus" in live.error

    write(rules, RULE.format(id="fixed", term="fixed"))
    assert live.refresh() and live.error is None and ids(live, "fixed") == ["fixed"]


def test_a_new_file_is_picked_up(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", RULE.format(id="one", term="one"))
    live = LiveRules(tmp_path)
    write(tmp_path / "b.yaml", RULE.format(id="two", term="two"))
    assert live.refresh() and ids(live, "one two") == ["one", "two"]


def test_invalid_rules_at_start_raise(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "events: [")
    with pytest.raises(ConfigError):
        LiveRules(tmp_path)
