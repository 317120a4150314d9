"""The classify agent: articles in, one match message per matched event rule out (to the route agent)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from faust import StreamT

from newswatch.alerts.build import build_alert
from newswatch.alerts.escalation import Escalate
from newswatch.alerts.stories import story_of
from newswatch.matcher.compile import FIELDS
from newswatch.matcher.model import Event
from newswatch.streams.worker import Worker

log = logging.getLogger(__name__)

# The poller caps an article at well under 1 MB; anything bigger on the topic did not come from it.
MAX_ARTICLE_BYTES = 1_048_576


def decode_article(raw: bytes | None) -> tuple[dict[str, Any] | None, str]:
    """The article in a message and ``"ok"``, or None and the reason it is not a usable article."""
    raw = raw or b""
    if len(raw) > MAX_ARTICLE_BYTES:
        return None, "too_large"
    try:
        article = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, "not_json"
    if not isinstance(article, dict) or not isinstance(article.get("id"), str) or not article["id"]:
        return None, "no_id"
    if any(not isinstance(article.get(name) or "", str) for name in FIELDS):
        return None, "bad_field"
    return article, "ok"


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


def register(worker: Worker) -> None:
    """Add the classify agent to ``worker.app``."""
    metrics, topics, live_rules = worker.metrics, worker.topics, worker.rules
    deliveries = worker.app.deliveries

    @worker.app.agent(topics.articles, name="classify")
    async def classify(stream: StreamT) -> None:
        """Match each article against the rules and send every match on, keyed by rule id."""
        async for event in stream.events():
            article, reason = decode_article(event.value)
            if article is None:
                metrics.articles.labels("invalid").inc()
                metrics.dead_letters.labels(reason).inc()
                log.warning(
                    "skipped message at %s[%d]@%d: %s (%d bytes)",
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                    reason,
                    len(event.value or b""),
                )
                if topics.dead_letter is not None and reason != "too_large":
                    sent = await topics.dead_letter.send(
                        key=event.key, value=event.value, headers=[("newswatch-error", reason.encode())]
                    )
                    deliveries.add(sent)  # committed past only once acknowledged (streams/delivery.py)
                continue
            with metrics.classify_seconds.time():
                analysis = live_rules.matcher.analyze(article)
            metrics.articles.labels("classified").inc()
            for actor in analysis.actors:
                metrics.actor_mentions.labels(actor.id, actor.type).inc()
            found = analysis.events
            story = story_of(article) if found else None
            for match in found:
                rule = match.rule
                metrics.matches.labels(rule.id, rule.category).inc()
                alert = build_alert(article, match, detected_at=datetime.now(UTC))
                candidate = {"alert": alert, "story": story, "options": rule_options(rule)}
                value = json.dumps(candidate, ensure_ascii=False).encode()
                deliveries.add(await topics.matches.send(key=rule.id.encode(), value=value))
