"""The classify agent: articles in, one match message per matched event rule out (to the route agent)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from faust import StreamT

from newswatch.agents.decode import MAX_ARTICLE_BYTES, decode_article
from newswatch.alerts.build import build_alert
from newswatch.alerts.escalation import Escalate
from newswatch.alerts.fingerprint import story_of
from newswatch.alerts.limits import MAX_MESSAGE_BYTES
from newswatch.matcher.engine import Analysis
from newswatch.matcher.model import Event
from newswatch.streams.deadletter import DeadLetters
from newswatch.streams.worker import Worker

__all__ = ["MAX_ARTICLE_BYTES", "decode_article", "match_messages", "register", "rule_options"]


def rule_options(rule: Event) -> dict[str, Any]:
    """What the route agent needs to know of a rule besides the alert itself (JSON: it travels on a topic)."""
    escalate = None
    if rule.escalate is not None:
        escalate = asdict(
            Escalate(
                count=rule.escalate.count,
                within=rule.escalate.within,
                distinct_sources=rule.escalate.distinct_sources or 1,
                severity=rule.escalate.severity,
                per_actor=rule.escalate.per_actor,
            )
        )
    return {"topic": rule.topic, "suppress": rule.suppress, "escalate": escalate}


def match_messages(article: dict[str, Any], analysis: Analysis, *, now: datetime) -> list[tuple[bytes, bytes]]:
    """The matches-topic messages (key, value) for a decoded article and what the matcher found in it.

    ValueError when one would exceed MAX_MESSAGE_BYTES, which the byte caps of the article (agents/decode.py)
    and of the alert (alerts/build.py) rule out: the agent then dead-letters the article rather than let a send
    raise.
    """
    found = analysis.events
    story = story_of(article) if found else None
    messages = []
    for match in found:
        rule = match.rule
        alert = build_alert(article, match, detected_at=now)
        candidate = {"alert": alert, "story": story, "options": rule_options(rule)}
        value = json.dumps(candidate, ensure_ascii=False).encode()
        if len(value) > MAX_MESSAGE_BYTES:
            raise ValueError(f"match message of rule {rule.id} is {len(value)} bytes")
        messages.append((rule.id.encode(), value))
    return messages


def register(worker: Worker) -> None:
    """Add the classify agent to ``worker.app``."""
    metrics, topics, live_rules = worker.metrics, worker.topics, worker.rules
    deliveries = worker.app.deliveries
    dead_letters = DeadLetters(topics.dead_letter, metrics, deliveries)

    @worker.app.agent(topics.articles, name="classify")
    async def classify(stream: StreamT) -> None:
        """Match each article against the rules and send every match on, keyed by rule id."""
        async for event in stream.events():
            article, reason = decode_article(event.value)
            if article is None:
                metrics.articles.labels("invalid").inc()
                await dead_letters.skip(event.message, reason)
                continue
            try:
                with metrics.classify_seconds.time():
                    analysis = live_rules.matcher.analyze(article)
                messages = match_messages(article, analysis, now=datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - one article the code cannot handle must not stop the stream
                metrics.articles.labels("invalid").inc()
                await dead_letters.skip(event.message, "classify_failed", error=exc)
                continue
            metrics.child(metrics.articles, "classified").inc()
            for actor in analysis.actors:
                metrics.child(metrics.actor_mentions, actor.id, actor.type).inc()
            for match in analysis.events:
                metrics.child(metrics.matches, match.rule.id, match.rule.category).inc()
            for key, value in messages:
                deliveries.add(await topics.matches.send(key=key, value=value))
