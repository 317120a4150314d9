"""The route agent: one alert per story and rule, escalations, and delivery to the alert topics.

Consumes the matches the classify agent found (keyed by rule id), decides with the rule's entries in the
``route-state`` table (alerts.stories, alerts.escalation), and sends each alert to ``alerts`` and to the rule's
own topic, keyed by rule id so that a rule's alerts, updates and escalations stay in order.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from faust import StreamT

from alerts.build import escalation_alert, headers
from alerts.escalation import Escalate, escalation_keys, observe
from alerts.stories import decide
from newswatch.settings import get_settings
from streams.app import app, metrics
from streams.tables import route_state
from streams.topics import alerts_topic, matches_topic, rule_topic

log = logging.getLogger(__name__)
settings = get_settings()


def _seconds_since(timestamp: str | None, now: datetime) -> float | None:
    try:
        return (now - datetime.fromisoformat(str(timestamp))).total_seconds()
    except (TypeError, ValueError):
        return None


async def publish(alert: dict[str, Any], topic: str | None) -> None:
    """Send one alert to ``alerts`` and, when the rule names one, to its own topic."""
    rule = alert["rule"]
    key, value = rule["id"].encode(), json.dumps(alert, ensure_ascii=False).encode()
    for target in [alerts_topic] + ([rule_topic(topic)] if topic else []):
        try:
            await target.send(key=key, value=value, headers=headers(alert))
        except Exception:
            metrics.produce_errors.labels(target.get_topic_name()).inc()
            raise  # the worker crashes and the match is redelivered: an alert is never silently lost
        metrics.alerts.labels(rule["id"], rule["severity"], target.get_topic_name()).inc()


@app.agent(matches_topic)
async def route(stream: StreamT) -> None:
    """Decide each match against its rule's state, then send alerts, updates and escalations."""
    async for raw in stream:
        candidate = json.loads(raw)
        alert, options = candidate["alert"], candidate.get("options") or {}
        rule_id = alert["rule"]["id"]
        now = time.time()
        decision = decide(
            route_state,
            rule_id,
            alert_id=alert["alert_id"],
            story=candidate["story"],
            now=now,
            window=settings.story_window_seconds,
            suppress=options.get("suppress"),
        )
        fired: list[tuple[str, dict[str, Any]]] = []
        escalate = dict(options.get("escalate") or {})
        per_actor = escalate.pop("per_actor", False)
        if escalate and decision.action in ("alert", "update"):
            source = str(candidate["story"].get("source") or candidate["story"].get("feed_id") or "?")
            counters = dict(route_state.get(f"{rule_id}|escalation") or {})
            for key in escalation_keys(alert, per_actor):
                counter = dict(counters.get(key) or {})
                summary = observe(counter, Escalate(**escalate), now=now, source=source)
                counters[key] = counter
                if summary:
                    fired.append((key, summary))
            route_state[f"{rule_id}|escalation"] = counters  # assignment, not mutation: that writes the changelog
        if decision.action == "suppress":
            metrics.suppressed.labels(rule_id, decision.reason).inc()
            continue
        if decision.action == "update":
            metrics.suppressed.labels(rule_id, "same_story").inc()
        alert.update(
            alert_id=decision.alert_id,
            kind="alert" if decision.revision == 0 else "update",
            revision=decision.revision,
            sources=decision.sources,
        )
        await publish(alert, options.get("topic"))
        latency = _seconds_since(alert.get("fetched_at"), datetime.now(UTC))
        if decision.action == "alert" and latency is not None and latency >= 0:
            metrics.feed_to_alert.observe(latency)
        for key, summary in fired:
            metrics.escalations.labels(rule_id).inc()
            log.info(
                "rule %s escalated%s: %d matches from %d sources",
                rule_id,
                "" if key == "*" else f" for {key}",
                summary["count"],
                summary["distinct_sources"],
            )
            await publish(escalation_alert(alert, summary, escalate["severity"], key), options.get("topic"))
