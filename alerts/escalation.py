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
# A rule's whole entry (every actor's events together) is one table value, so one changelog message: bounded in
# bytes, not only per actor. An event is [time, source name cut to MAX_SOURCE_NAME_BYTES], ~90 bytes at most, so
# MAX_ENTRY_EVENTS keep an entry under ~0.4 MB. Past it, the oldest events of any actor are dropped first; a
# per-actor rule needs thousands of matches within its window for that to happen.
MAX_SOURCE_NAME_BYTES = 64
MAX_ENTRY_EVENTS = 4_000


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
    # assignment, not mutation: that writes a Faust table's changelog
    store[f"{rule}|escalation"] = _bounded(counters, now, escalate.within)
    return fired


def _bounded(counters: dict[str, Any], now: float, within: float) -> dict[str, Any]:
    """``counters`` with only the events still in the window, without the keys left with nothing (no event, quiet
    period over), and with at most MAX_ENTRY_EVENTS events in all, the oldest dropped first."""
    kept = {}
    for key, counter in counters.items():
        events = [e for e in counter.get("events", []) if now - e[0] <= within]
        if events or now < counter.get("quiet_until", 0):
            kept[key] = {**counter, "events": events}
    total = sum(len(counter["events"]) for counter in kept.values())
    if total <= MAX_ENTRY_EVENTS:
        return kept
    times = sorted(event[0] for counter in kept.values() for event in counter["events"])
    cutoff = times[total - MAX_ENTRY_EVENTS]  # the oldest time kept
    return {
        key: {**counter, "events": [e for e in counter["events"] if e[0] >= cutoff]} for key, counter in kept.items()
    }
