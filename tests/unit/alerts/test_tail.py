"""`newswatch alerts tail`: header filters and the one-line format a person reads."""

from __future__ import annotations

from newswatch.alerts.tail import BrokerWatch, LineFormatter, format_line, wanted

HEADERS = [("rule-id", b"drone_attack"), ("severity", b"high")]


def test_filters_on_rule_and_minimum_severity_from_headers() -> None:
    assert wanted(HEADERS, set(), None)
    assert wanted(HEADERS, {"drone_attack"}, "medium")
    assert not wanted(HEADERS, {"ceasefire_talks"}, None)
    assert not wanted(HEADERS, set(), "critical")


def test_lines_say_what_kind_of_alert_it_is() -> None:
    alert = {
        "rule": {"id": "drone_attack", "severity": "high"},
        "article": {"title": "Drones hit Kramatorsk", "source": "AP"},
        "kind": "alert",
    }
    assert format_line(alert) == "[HIGH    ] drone_attack         Drones hit Kramatorsk  (AP)"
    update = {**alert, "kind": "update", "sources": [{}, {}, {}]}
    assert format_line(update).endswith("[+2 more source(s)]")
    escalation = {**alert, "kind": "escalation", "escalation": {"count": 5, "distinct_sources": 3}}
    assert "ESCALATION: 5 matches from 3 sources" in format_line(escalation)
    from_page = {**alert, "article": {**alert["article"], "text_source": "page"}}
    assert format_line(from_page).endswith("(AP, read from the page)")  # the feed only gave a teaser


def alert_of(rule: str, title: str = "Drones hit Kramatorsk") -> dict:
    return {"rule": {"id": rule, "severity": "high"}, "article": {"title": title, "source": "AP"}, "kind": "alert"}


def test_titles_start_in_one_column_whatever_the_rule_ids_length() -> None:
    long_id = "foreign_fighters_recruitment_abroad"
    line = LineFormatter(known=["drone_attack", long_id])
    lines = [line(alert_of("drone_attack")), line(alert_of(long_id)), line(alert_of("x"))]
    assert len({text.index("Drones hit") for text in lines}) == 1
    later = LineFormatter()  # an id longer than any known widens the column for every line after it
    later(alert_of(long_id + "_more"))
    assert len({later(alert_of(r)).index("Drones hit") for r in ("a", "drone_attack")}) == 1


def test_feed_text_cannot_drive_the_terminal() -> None:
    text = format_line(alert_of("drone_attack", title="Breaking\x1b[2J\x1b]0;pwned\x07 news\rOK"))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Breaking" in text and "news" in text


def test_a_broker_away_for_a_while_is_reported_once_and_its_return_too() -> None:
    said: list[str] = []
    up = [True]
    now = [0.0]
    watch = BrokerWatch(lambda: up[0], said.append, "127.0.0.1:9092", after=10, clock=lambda: now[0])
    watch.check()
    up[0] = False
    for t in range(0, 30):
        now[0] = float(t)
        watch.check()
    assert len(said) == 1 and "unreachable for 10 s" in said[0]
    up[0] = True
    watch.check()
    watch.check()
    assert len(said) == 2 and "reachable again" in said[1]
