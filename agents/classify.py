"""The classify agent: articles in, one alert per matched event rule out."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from faust import StreamT

from alerts.build import build_alert
from matcher import Matcher, load_rules
from newswatch.settings import get_settings
from streams.app import app, metrics
from streams.topics import alerts_topic, articles_topic

log = logging.getLogger(__name__)
matcher = Matcher(load_rules(get_settings().rules_path))
metrics.rules_loaded.labels("events").set(len(matcher.rules.events))


def decode_article(raw: bytes | None) -> tuple[dict | None, str]:
    """The article in a message and ``"ok"``, or None and the reason it is not a usable article (logged)."""
    try:
        article = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        log.warning("skipping a message on articles that is not JSON (%d bytes)", len(raw or b""))
        return None, "not_json"
    if not isinstance(article, dict) or not isinstance(article.get("id"), str):
        log.warning("skipping a message on articles without an 'id'")
        return None, "no_id"
    return article, "ok"


def _seconds_since(timestamp: str | None, now: datetime) -> float | None:
    try:
        return (now - datetime.fromisoformat(str(timestamp))).total_seconds()
    except (TypeError, ValueError):
        return None


@app.agent(articles_topic)
async def classify(stream: StreamT) -> None:
    """Match each article against the rules and send every match to the alerts topic."""
    async for raw in stream:
        article, reason = decode_article(raw)
        if article is None:
            metrics.articles.labels("invalid").inc()
            metrics.dead_letters.labels(reason).inc()
            continue
        with metrics.classify_seconds.time():
            found = matcher.match(article)
        metrics.articles.labels("classified").inc()
        for match in found:
            rule = match.rule
            metrics.matches.labels(rule.id, rule.category).inc()
            now = datetime.now(UTC)
            alert = build_alert(article, match, detected_at=now)
            await alerts_topic.send(key=article["id"].encode(), value=json.dumps(alert, ensure_ascii=False).encode())
            metrics.alerts.labels(rule.id, rule.severity, alerts_topic.get_topic_name()).inc()
            latency = _seconds_since(article.get("fetched_at"), now)
            if latency is not None and latency >= 0:
                metrics.feed_to_alert.observe(latency)
