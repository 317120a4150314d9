"""Escalation, like ElastAlert's frequency rule: fire once per window when a rule matches often enough.

A rule's ``escalate: {count: 5, distinct_sources: 3, within: 3600, severity: critical}`` fires when, within the
last ``within`` seconds, it matched at least ``count`` times from at least ``distinct_sources`` sources; then it
stays quiet until that window has passed. State is a JSON-able dict per rule (and per actor where asked).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from newswatch.alerts.limits import clip

MAX_EVENTS = 1_000  # per rule (and actor): the state is rewritten on each match, so it stays small
MAX_SOURCE_NAME_BYTES = 128  # a source as an event remembers it: 1,000 events stay ~150 kB


@dataclass(frozen=True)
class Escalate:
    """The thresholds of one rule's escalation: one type from the rule's options on the matches topic (as
    ``asdict``) to the route decision. ``within`` in seconds; ``per_actor`` counts each actor on its own."""

    count: int
    within: float
    distinct_sources: int = 1
    severity: str = "critical"
    per_actor: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Escalate | None:
        """The escalation a match message carries (``asdict`` of one), or None when the rule has none."""
        return cls(**data) if data else None


def observe(state: dict[str, Any], escalate: Escalate, *, now: float, source: str) -> dict[str, Any] | None:
    """Record one match; return the escalation's summary when it fires now, else None. Updates ``state``."""
    events = [e for e in state.get("events", []) if now - e[0] <= escalate.within]
    events.append([now, source])
    state["events"] = events[-MAX_EVENTS:]
    if now < state.get("quiet_until", 0):
        return None
    sources = {e[1] for e in events}
    if len(events) >= escalate.count and len(sources) >= escalate.distinct_sources:
        state["quiet_until"] = now + escalate.within
        window_start = min(e[0] for e in events)
        return {
            "count": len(events),
            "distinct_sources": len(sources),
            "sources": sorted(sources)[:50],
            "window_start": window_start,
            "window_end": now,
        }
    return None


def escalation_keys(alert: dict[str, Any], per_actor: bool) -> list[str]:
    """What a rule counts matches by: the rule as a whole, or each actor mentioned (near the evidence first)."""
    if not per_actor:
        return ["*"]
    actors = alert.get("actors") or []
    near = [a["id"] for a in actors if a.get("near")]
    return near or [a["id"] for a in actors]


def track(
    store: MutableMapping[str, Any], rule: str, alert: dict[str, Any], escalate: Escalate, *, now: float, source: str
) -> list[tuple[str, dict[str, Any]]]:
    """Count one alerted match of ``rule`` in its ``<rule>|escalation`` entry of ``store`` (the route table, a dict
    in tests); return the escalations that fire now, as (actor id or ``*``, summary)."""
    source = clip(source, MAX_SOURCE_NAME_BYTES)
    counters = dict(store.get(f"{rule}|escalation") or {})
    fired = []
    for key in escalation_keys(alert, escalate.per_actor):
        counter = dict(counters.get(key) or {})
        summary = observe(counter, escalate, now=now, source=source)
        counters[key] = counter
        if summary:
            fired.append((key, summary))
    store[f"{rule}|escalation"] = counters  # assignment, not mutation: that writes a Faust table's changelog
    return fired
