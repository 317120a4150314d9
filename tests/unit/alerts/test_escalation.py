"""Escalation fires once per window when a rule matches often enough from enough sources."""

from __future__ import annotations

from newswatch.alerts.escalation import Escalate, observe

RULE = Escalate(count=3, distinct_sources=2, within=3600)


def test_fires_when_count_and_sources_are_reached_then_stays_quiet() -> None:
    state: dict = {}
    assert observe(state, RULE, now=0, source="a") is None
    assert observe(state, RULE, now=10, source="a") is None  # 2 matches, 1 source
    fired = observe(state, RULE, now=20, source="b")
    assert fired and fired["count"] == 3 and fired["distinct_sources"] == 2
    assert observe(state, RULE, now=30, source="c") is None  # once per window


def test_old_matches_fall_out_of_the_window() -> None:
    state: dict = {}
    observe(state, RULE, now=0, source="a")
    observe(state, RULE, now=10, source="b")
    assert observe(state, RULE, now=5000, source="c") is None  # the first two are over an hour old


def test_fires_again_after_the_quiet_window() -> None:
    state: dict = {}
    for t, s in [(0, "a"), (1, "b"), (2, "c")]:
        observe(state, RULE, now=t, source=s)
    for t, s in [(4000, "a"), (4001, "b")]:
        assert observe(state, RULE, now=t, source=s) is None
    assert observe(state, RULE, now=4002, source="c") is not None


def test_per_actor_counts_each_actor_mentioned_near_the_evidence() -> None:
    from newswatch.alerts.escalation import escalation_keys

    alert = {"actors": [{"id": "russia", "near": True}, {"id": "usa", "near": False}]}
    assert escalation_keys(alert, per_actor=False) == ["*"]
    assert escalation_keys(alert, per_actor=True) == ["russia"]
    assert escalation_keys({"actors": [{"id": "usa", "near": False}]}, per_actor=True) == ["usa"]
