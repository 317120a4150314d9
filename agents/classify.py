"""The classify agent: articles in, one match message per matched event rule out (to the route agent)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from faust import StreamT

from alerts.build import build_alert
from alerts.stories import story_of
from matcher import Matcher, load_rules
from newswatch.settings import get_settings
from streams.app import app, metrics
from streams.topics import articles_topic, dead_letter_topic, matches_topic

log = logging.getLogger(__name__)
matcher = Matcher(load_rules(get_settings().rules_path))
metrics.rules_loaded.labels("events").set(len(matcher.rules.events))

# The poller caps an article at well under 1 MB; anything bigger on the topic did not come from it.
MAX_ARTICLE_BYTES = 1_048_576
TEXT_FIELDS = ("title", "summary", "content", "text")


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
    if any(not isinstance(article.get(name) or "", str) for name in TEXT_FIELDS):
        return None, "bad_field"
    return article, "ok"


def rule_options(rule: Any) -> dict[str, Any]:
    """What the route agent needs to know of a rule besides the alert itself."""
    return {"topic": getattr(rule, "topic", None), "suppress": None, "escalate": None}


@app.agent(articles_topic)
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
            if dead_letter_topic is not None and reason != "too_large":
                await dead_letter_topic.send(
                    key=event.key, value=event.value, headers=[("newswatch-error", reason.encode())]
                )
            continue
        with metrics.classify_seconds.time():
            found = matcher.match(article)
        metrics.articles.labels("classified").inc()
        story = story_of(article) if found else None
        for match in found:
            rule = match.rule
            metrics.matches.labels(rule.id, rule.category).inc()
            alert = build_alert(article, match, detected_at=datetime.now(UTC))
            candidate = {"alert": alert, "story": story, "options": rule_options(rule)}
            await matches_topic.send(key=rule.id.encode(), value=json.dumps(candidate, ensure_ascii=False).encode())
