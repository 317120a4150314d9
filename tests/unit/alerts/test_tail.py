"""`newswatch alerts tail`: header filters and the one-line format a person reads."""

from __future__ import annotations

from alerts.tail import format_line, wanted

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
