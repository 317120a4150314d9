"""The classify agent: articles in, one match message per matched event rule out (to the route agent)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
from faust import StreamT
from faust.types import EventT

from newswatch.agents.batch import BATCH_OVERHEAD, MatchBatch
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
    """The matches (key, value), one per matched rule, for a decoded article and what the matcher found in it; the
    agent sends them in batches of articles, one matches message per rule (agents/batch.py).

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
        # orjson: the hop is internal, so compact JSON (same values as json.dumps) at a ninth of the cost
        value = orjson.dumps(candidate)
        if len(value) + BATCH_OVERHEAD > MAX_MESSAGE_BYTES:
            raise ValueError(f"match message of rule {rule.id} is {len(value)} bytes")
        messages.append((rule.id.encode(), value))
    return messages


def register(worker: Worker) -> None:
    """Add the classify agent to ``worker.app``."""
    metrics, topics, live_rules = worker.metrics, worker.topics, worker.rules
    deliveries = worker.app.deliveries
    dead_letters = DeadLetters(topics.dead_letter, metrics, deliveries)

    settings = worker.settings
    # Under exactly_once, a send belongs to the transaction of the event being processed: each article's matches
    # go out on their own, before the next article is read.
    batched = settings.processing_guarantee == "at_least_once" and settings.worker_match_batch > 1

    async def send(messages: list[tuple[bytes, bytes]]) -> None:
        for key, value in messages:
            await deliveries.send(topics.matches, key=key, value=value)

    @worker.app.agent(topics.articles, name="classify")
    async def classify(stream: StreamT) -> None:
        """Match each article against the rules and send its matches on, keyed by rule id: one message per rule
        per batch of articles (agents/batch.py)."""
        batch = MatchBatch()
        if not batched:
            async for event in stream.events():
                batch.add(await classify_one(event))
                await send(batch.take())
            return
        # Faust acknowledges a batch's events when the loop asks for the next batch: after its matches were sent.
        async for events in stream.take_events(settings.worker_match_batch, settings.worker_match_batch_wait_ms / 1000):
            for event in events:
                messages = await classify_one(event)
                if not batch.fits(messages):
                    await send(batch.take())
                batch.add(messages)
            await send(batch.take())

    async def classify_one(event: EventT) -> list[tuple[bytes, bytes]]:
        """One article's match messages; none when it matched nothing or was dead-lettered."""
        article, reason = decode_article(event.value)
        if article is None:
            metrics.articles.labels("invalid").inc()
            await dead_letters.skip(event.message, reason)
            return []
        try:
            with metrics.classify_seconds.time():
                analysis = live_rules.matcher.analyze(article)
            messages = match_messages(article, analysis, now=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - one article the code cannot handle must not stop the stream
            metrics.articles.labels("invalid").inc()
            await dead_letters.skip(event.message, "classify_failed", error=exc)
            return []
        metrics.child(metrics.articles, "classified").inc()
        for actor in analysis.actors:
            metrics.child(metrics.actor_mentions, actor.id, actor.type).inc()
        for match in analysis.events:
            metrics.child(metrics.matches, match.rule.id, match.rule.category).inc()
        return messages
