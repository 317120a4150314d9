"""Escalation, like ElastAlert's frequency rule: fire once per window when a rule matches often enough.

A rule's ``escalate: {count: 5, distinct_sources: 3, within: 3600, severity: critical}`` fires when, within the
last ``within`` seconds, it matched at least ``count`` times from at least ``distinct_sources`` sources; then it
stays quiet until that window has passed. State is a JSON-able dict per rule (and per actor where asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_EVENTS = 1_000  # per rule (and actor): the state is rewritten on each match, so it stays small


@dataclass(frozen=True)
class Escalate:
    """The thresholds of one rule's escalation."""

    count: int
    within: float
    distinct_sources: int = 1
    severity: str = "critical"


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
