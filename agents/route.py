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

from newswatch.agents.decode import decode_matches
from newswatch.alerts.build import escalation_alert, headers
from newswatch.alerts.escalation import Escalate, track
from newswatch.alerts.stories import Decision, StoryIndex, decide
from newswatch.streams.deadletter import DeadLetters
from newswatch.streams.delivery import DeliveryLedger
from newswatch.streams.metrics import WorkerMetrics
from newswatch.streams.topics import Topics
from newswatch.streams.worker import Worker

log = logging.getLogger(__name__)


def _seconds_since(timestamp: str | None, now: datetime) -> float | None:
    try:
        return (now - datetime.fromisoformat(str(timestamp))).total_seconds()
    except (TypeError, ValueError):
        return None


async def publish(
    topics: Topics, metrics: WorkerMetrics, alert: dict[str, Any], topic: str | None, deliveries: DeliveryLedger
) -> None:
    """Send one alert to ``alerts`` and, when the rule names one, to its own topic.

    An alert is never silently lost: a send that fails at once, or that the broker later fails to acknowledge, stops
    the next commit (``deliveries``, streams/delivery.py) and the worker restarts: the match is read again.
    """
    rule = alert["rule"]
    key, value = rule["id"].encode(), json.dumps(alert, ensure_ascii=False).encode()
    for target in [topics.alerts] + ([topics.rule_topic(topic)] if topic else []):
        try:
            await deliveries.send(target, key=key, value=value, headers=headers(alert))
        except Exception:
            metrics.produce_errors.labels(target.get_topic_name()).inc()
            raise
        metrics.child(metrics.alerts, rule["id"], rule["severity"], target.get_topic_name()).inc()


def decide_match(
    route_state: Any, candidate: dict[str, Any], *, now: float, window: float, index: StoryIndex | None = None
) -> tuple[Decision, Escalate | None, list[tuple[str, dict[str, Any]]]]:
    """What to do with one decoded match: the story decision, the rule's escalation and the escalations that fire
    now (updating the rule's entries in ``route_state``; ``index``: its story index, alerts/stories.py)."""
    alert, options, story = candidate["alert"], candidate.get("options") or {}, candidate["story"]
    rule_id = alert["rule"]["id"]
    decision = decide(
        route_state,
        rule_id,
        alert_id=alert["alert_id"],
        story=story,
        now=now,
        window=window,
        suppress=options.get("suppress"),
        index=index,
    )
    escalate = Escalate.from_dict(options.get("escalate"))
    fired: list[tuple[str, dict[str, Any]]] = []
    if escalate is not None and decision.action in ("alert", "update"):
        source = str(story.get("source") or story.get("feed_id") or "?")
        fired = track(route_state, rule_id, alert, escalate, now=now, source=source)
    return decision, escalate, fired


def register(worker: Worker) -> None:
    """Add the route agent to ``worker.app``."""
    metrics, topics, route_state = worker.metrics, worker.topics, worker.route_state
    deliveries = worker.app.deliveries
    window = worker.settings.story_window_seconds
    dead_letters = DeadLetters(topics.dead_letter, metrics, deliveries)
    index = StoryIndex()  # the table's story lookup, in memory only (alerts/stories.py)

    @worker.app.on_partitions_revoked.connect
    async def forget_story_index(*_args: Any, **_kwargs: Any) -> None:
        """Revoked rules may be decided by another worker now: drop every index, rebuilt on next use (the check of a
        rule's counters would catch a change too; this frees what rules leaving this worker held)."""
        index.clear()

    @worker.app.agent(topics.matches, name="route")
    async def route(stream: StreamT) -> None:
        """Decide each match (a message holds one rule's matches of a batch of articles) against its rule's state,
        then send alerts, updates and escalations."""
        async for event in stream.events():
            candidates = decode_matches(event.value)
            if candidates is None:
                await dead_letters.skip(event.message, "bad_match")
                continue
            failed: Exception | None = None
            for candidate in candidates:
                try:
                    decided = decide_match(route_state, candidate, now=time.time(), window=window, index=index)
                except Exception as exc:  # noqa: BLE001 - a match the state code cannot take must not stop the stream
                    failed = failed or exc
                    continue
                await deliver(candidate, *decided)
            if failed is not None:
                # the whole message: replayed, the matches in it that did pass are taken as updates of their stories
                await dead_letters.skip(event.message, "bad_match", error=failed)

    async def deliver(
        candidate: dict[str, Any], decision: Decision, escalate: Escalate | None, fired: list[tuple[str, Any]]
    ) -> None:
        """Send a decided match's alert or update, and the escalations that fire with it."""
        alert, options = candidate["alert"], candidate.get("options") or {}
        rule_id = alert["rule"]["id"]
        if decision.action == "suppress":
            metrics.suppressed.labels(rule_id, decision.reason).inc()
            return
        if decision.action == "update":
            metrics.child(metrics.suppressed, rule_id, "same_story").inc()
        alert.update(
            alert_id=decision.alert_id,
            kind="alert" if decision.revision == 0 else "update",
            revision=decision.revision,
            sources=decision.sources,
        )
        await publish(topics, metrics, alert, options.get("topic"), deliveries)
        latency = _seconds_since(alert.get("fetched_at"), datetime.now(UTC))
        if decision.action == "alert" and latency is not None and latency >= 0:
            metrics.feed_to_alert.observe(latency)
        for key, summary in fired:
            assert escalate is not None  # fired only for a rule with an escalation
            metrics.escalations.labels(rule_id).inc()
            log.info(
                "rule %s escalated%s: %d matches from %d sources",
                rule_id,
                "" if key == "*" else f" for {key}",
                summary["count"],
                summary["distinct_sources"],
            )
            escalation = escalation_alert(alert, summary, escalate.severity, key)
            await publish(topics, metrics, escalation, options.get("topic"), deliveries)
