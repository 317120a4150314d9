"""Feed text printed for a person (alerts tail, newswatch run, rules test, feeds status, logs) cannot drive the
terminal or rich; ``--json`` output stays the exact document.

The hostile title of issue 17: ``\\x1b]0;pwned\\x07\\x1b[2J`` (an OSC sequence retitling the terminal, then a CSI
clearing it). If these broke, a feed could retitle and wipe the terminal of whoever tails alerts, disguise a line
with a bidi override, or end the tail with a UnicodeEncodeError on a lone surrogate.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from newswatch.alerts import tail as tail_module
from newswatch.alerts.tail import format_line
from newswatch.cli import app
from newswatch.core import console
from newswatch.core.text import html_to_text
from newswatch.poller.parse import parse_feed
from tests.conftest import ROOT

PWNED = "\x1b]0;pwned\x07\x1b[2J"
# Everything a terminal or rich could act on: C0, DEL, C1 (U+009B is an 8-bit CSI), a line separator,
# a right-to-left override and a lone surrogate (which a JSON "\ud800" decodes to).
HOSTILE = f"Breaking{PWNED} news\r\x9b2J\u2028[bold]fake[/bold] \u202eevil\u202c \ud800end"
DANGEROUS = ["\x1b", "\x07", "\r", "\x9b", "\u2028", "\u202e", "\u202c", "\ud800"]


def _alert(title: str, **article: Any) -> dict[str, Any]:
    return {
        "kind": "alert",
        "rule": {"id": "drone_attack", "severity": "high"},
        "article": {"title": title, "source": article.pop("source", "AP"), **article},
    }


def assert_harmless(text: str) -> None:
    for char in DANGEROUS:
        assert char not in text, f"{char!r} reached the output"
    text.encode("utf-8")  # a lone surrogate would raise here, as it does when printed


def test_the_helper_replaces_controls_drops_bidi_overrides_and_keeps_what_a_format_needs() -> None:
    safe = console.terminal_safe(HOSTILE)
    assert_harmless(safe)
    assert "Breaking" in safe and "news" in safe and "evil" in safe and "end" in safe
    assert "[bold]fake[/bold]" in safe  # brackets are text; escaping markup is the rich printer's job
    assert console.terminal_safe("a\nb\tc", keep="\n") == "a\nb\ufffdc"
    assert console.terminal_safe("عاجل: قصف") == "عاجل: قصف"  # right-to-left text itself is untouched


def test_an_alert_line_is_harmless_whatever_the_feed_sent() -> None:
    line = format_line(_alert(HOSTILE, source=f"Evil{PWNED}\u202eNN\u202c"))
    assert_harmless(line)
    assert "\n" not in line and "Breaking" in line


def test_an_alert_of_the_wrong_shape_is_shown_with_question_marks_not_a_crash() -> None:
    for alert in [
        {"rule": "x", "article": ["y"]},
        {"kind": "update", "sources": 3},
        {"kind": "escalation", "escalation": 1},
    ]:
        assert format_line(alert).startswith("[")


@pytest.mark.parametrize(
    "title",
    [
        f"<![CDATA[Breaking{PWNED}]]>",  # CDATA keeps raw bytes
        "Breaking&#27;]0;pwned&#7;&#27;[2J",  # numeric character references
        "Breaking&#x1b;]0;pwned&#x7;&#x1B;[2J",
    ],
)
def test_a_hostile_feed_title_in_any_encoding_prints_harmlessly(title: str) -> None:
    """The title through the poller's parser and the alert printer, however the feed wrote the escape."""
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
    feed += "<link>https://example.com/a</link></item></channel></rss>"
    parsed = parse_feed(feed.encode("utf-8"))
    assert parsed.entries
    line = format_line(_alert(html_to_text(parsed.entries[0].get("title"))))
    assert_harmless(line)
    assert "Breaking" in line


def test_tail_json_is_the_exact_document_with_nothing_a_terminal_acts_on(monkeypatch: pytest.MonkeyPatch) -> None:
    alert = _alert(HOSTILE, source=f"Evil{PWNED}")
    monkeypatch.setattr(tail_module, "read_alerts", lambda *args, **kwargs: iter([alert]))
    printed: list[str] = []
    tail_module.tail("127.0.0.1:1", "alerts", as_json=True, echo=printed.append)
    assert_harmless(printed[0])
    assert json.loads(printed[0]) == alert  # exact: every escaped character decodes back to itself
    assert "ü" in console.json_text({"t": "Zürich"})  # non-ASCII stays readable


def test_tail_lines_are_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail_module, "read_alerts", lambda *args, **kwargs: iter([_alert(HOSTILE)]))
    printed: list[str] = []
    tail_module.tail("127.0.0.1:1", "alerts", echo=printed.append)
    assert_harmless(printed[0])


def test_rules_test_shows_a_hostile_title_and_text_harmlessly_and_markup_as_text(tmp_path: Path) -> None:
    article = tmp_path / "article.json"
    content = f"Drone strike hits Kharkiv {PWNED} [red]overnight[/red] \u202eevil\u202c"
    # Without the lone surrogate: cleaning those before matching is the decoder's job (issue 17, item 3).
    title = HOSTILE.replace("\ud800", "")
    article.write_text(json.dumps({"id": "x", "title": title, "content": content}), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", "--file", str(article), "--rules", str(ROOT / "config/rules")])
    assert result.exit_code == 0, result.output
    assert_harmless(result.output)
    assert "[bold]fake[/bold]" in result.output  # feed text is never read as rich markup
    assert "[red]overnight[/red]" in result.output


def test_rules_test_json_is_exact(tmp_path: Path) -> None:
    article = tmp_path / "article.json"
    article.write_text(json.dumps({"id": f"x{PWNED}\x9b\ud800", "title": "t", "content": "c"}), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["rules", "test", "--json", "--file", str(article), "--rules", str(ROOT / "config/rules")]
    )
    assert result.exit_code == 0, result.output
    assert_harmless(result.output)
    assert json.loads(result.output)["id"] == f"x{PWNED}\x9b\ud800"


def test_rules_test_of_a_broken_json_article_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    article = tmp_path / "article.json"
    for raw in ("[" * 100_000, "[1, 2]", "{not json"):
        article.write_text(raw, encoding="utf-8")
        result = CliRunner().invoke(
            app, ["rules", "test", "--file", str(article), "--rules", str(ROOT / "config/rules")]
        )
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output


def test_feeds_status_shows_hostile_state_harmlessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed's error detail (a server's words) and a key read off the state topic, printed in a rich table."""
    from newswatch.poller import statestore
    from newswatch.poller.state import FeedState

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://example.com/rss\n    id: ok\n", encoding="utf-8")
    states = {
        "ok": FeedState(last_error="http", failures=1, last_error_detail=f"HTTP 500 {PWNED}[bold]boom[/bold]"),
        f"gone{PWNED}[blink]x[/blink]\u202e": FeedState(),
    }
    monkeypatch.setattr(statestore, "read_states", lambda *args, **kwargs: states)
    result = CliRunner().invoke(app, ["feeds", "status", "--feeds", str(feeds)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert_harmless(result.output)
    assert "[bold]boom[/bold]" in result.output and "[blink]x[/blink]" in result.output


def test_log_lines_quoting_feed_text_are_harmless() -> None:
    record = logging.LogRecord("newswatch.poller", logging.WARNING, __file__, 1, "feed %s: %s", ("x", HOSTILE), None)
    line = console._SafeFormatter("%(levelname)s %(message)s").format(record)
    assert_harmless(line)


def test_classify_writes_exact_json_lines_for_hostile_articles(tmp_path: Path) -> None:
    articles = tmp_path / "in.jsonl"
    articles.write_text(
        json.dumps({"id": HOSTILE, "title": "t", "content": "c"}) + "\n" + "[" * 100_000 + "\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["classify", str(articles), "--rules", str(ROOT / "config/rules")])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert_harmless(first)
    assert json.loads(first)["id"] == HOSTILE


# Every code point, surrogates included, and the dangerous ones often.
_ANY_CHAR = st.one_of(st.characters(blacklist_categories=()), st.sampled_from([*DANGEROUS, "\x85", "\u2029", "\u2066"]))
_UNSAFE_OUT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.mark.fuzz
@given(st.text(_ANY_CHAR), st.text(_ANY_CHAR, max_size=20))
def test_any_feed_text_prints_harmlessly_and_json_stays_exact(title: str, source: str) -> None:
    """Any string (surrogates and controls included) as an alert line has nothing a terminal acts on; as JSON it
    decodes back to exactly itself."""
    line = format_line(_alert(title, source=source))
    assert not _UNSAFE_OUT.search(line)
    line.encode("utf-8")
    alert = _alert(title, source=source)
    dumped = console.json_text(alert)
    assert not _UNSAFE_OUT.search(dumped)
    assert json.loads(dumped) == alert
