"""The agents' business logic without a broker: plain functions over a dict store and a fresh registry."""

from __future__ import annotations

import json

from newswatch.agents.classify import decode_article, rule_options
from newswatch.alerts.escalation import Escalate, track
from newswatch.matcher.model import Event

RULE = {
    "id": "drone_attack",
    "title": "Drone attack",
    "match": {"any": ["drone strike"]},
    "suppress": "30m",
    "escalate": {"count": 3, "within": "1h", "distinct_sources": 2, "severity": "critical", "per_actor": True},
}


def test_a_message_is_an_article_or_a_reason_it_is_not() -> None:
    article = {"id": "a1", "title": "Drones", "content": "text"}
    assert decode_article(json.dumps(article).encode()) == (article, "ok")
    assert decode_article(b"not json") == (None, "not_json")
    assert decode_article(b'{"title": "no id"}') == (None, "no_id")
    assert decode_article(b'{"id": "a", "title": 5}') == (None, "bad_field")
    assert decode_article(b"x" * 1_048_577) == (None, "too_large")
    assert decode_article(None) == (None, "not_json")


def test_durations_are_seconds_from_the_rule_file_to_the_route_decision() -> None:
    rule = Event.model_validate(RULE)
    assert rule.suppress == 1800.0 and rule.escalate is not None and rule.escalate.within == 3600.0
    options = json.loads(json.dumps(rule_options(rule)))  # as it travels on the matches topic
    assert options["suppress"] == 1800.0 and options["topic"] is None
    assert Escalate.from_dict(options["escalate"]) == Escalate(3, 3600.0, 2, "critical", per_actor=True)
    assert Escalate.from_dict(None) is None


def test_escalation_fires_once_per_actor_when_enough_sources_report_it() -> None:
    store: dict = {}
    escalate = Escalate(count=3, within=3600, distinct_sources=2, severity="critical", per_actor=True)
    alert = {"actors": [{"id": "russia", "near": True}, {"id": "china", "near": False}]}
    fired = [track(store, "r", alert, escalate, now=float(t), source=s) for t, s in enumerate(["A", "A", "B", "C"])]
    assert [len(f) for f in fired] == [0, 0, 1, 0]  # the third match from two sources fires, then quiet
    key, summary = fired[2][0]
    assert key == "russia" and summary["count"] == 3 and summary["distinct_sources"] == 2
    assert set(store) == {"r|escalation"}
