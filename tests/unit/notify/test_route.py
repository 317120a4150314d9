"""Routing: which sinks an alert goes to, by rule, severity, category, actor and kind."""

from __future__ import annotations

from newswatch.notify.config import NotifyConfig
from newswatch.notify.route import route
from tests.unit.notify.sample import alert

SINK = {"type": "alertmanager", "url": "http://127.0.0.1:9093"}


def config(*routes: dict) -> NotifyConfig:
    return NotifyConfig.model_validate({"sinks": {n: SINK for n in ("a", "b", "c")}, "routes": list(routes)})


def test_a_route_without_match_takes_every_alert() -> None:
    assert route(config({"sinks": ["a"]}), alert()) == ["a"]


def test_every_matching_route_adds_its_sinks_once_in_file_order() -> None:
    cfg = config(
        {"match": {"severity": ["high"]}, "sinks": ["b", "a"]},
        {"match": {"rule": "drone_attack"}, "sinks": ["a", "c"]},
        {"match": {"rule": "ceasefire_talks"}, "sinks": ["c"]},
    )
    assert route(cfg, alert()) == ["b", "a", "c"]
    assert route(cfg, alert(rule={"id": "other", "severity": "low"})) == []


def test_all_keys_of_a_match_must_hold() -> None:
    cfg = config({"match": {"category": ["conflict"], "actor": ["iran"]}, "sinks": ["a"]})
    assert route(cfg, alert()) == []  # right category, but neither actor is iran
    assert route(cfg, alert(actors=[{"id": "iran", "name": "Iran", "type": "state", "count": 1, "near": True}])) == [
        "a"
    ]


def test_min_severity_takes_that_severity_and_above() -> None:
    cfg = config({"match": {"min_severity": "high"}, "sinks": ["a"]})
    assert route(cfg, alert(rule={"severity": "critical"})) == ["a"]
    assert route(cfg, alert(rule={"severity": "high"})) == ["a"]
    assert route(cfg, alert(rule={"severity": "medium"})) == []
    assert route(cfg, alert(rule={"severity": "bogus"})) == []


def test_kind_tells_updates_and_escalations_apart() -> None:
    cfg = config({"match": {"kind": ["alert", "escalation"]}, "sinks": ["a"]}, {"sinks": ["b"]})
    assert route(cfg, alert(kind="update", revision=1)) == ["b"]
    assert route(cfg, alert(kind="escalation")) == ["a", "b"]


def test_an_alert_of_an_odd_shape_matches_nothing_it_lacks() -> None:
    """A message on a shared topic may lack parts; routing must not raise on it."""
    cfg = config({"match": {"actor": ["russia"]}, "sinks": ["a"]}, {"match": {"category": "x"}, "sinks": ["b"]})
    assert route(cfg, {"rule": "not a mapping", "actors": [1, None, "x"]}) == []
