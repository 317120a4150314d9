"""The classify agent: articles in, one alert per matched event rule out."""

from __future__ import annotations

import json
import logging

from alerts.build import build_alert
from matcher import Matcher, load_rules
from newswatch.settings import get_settings
from streams.app import app
from streams.topics import alerts_topic, articles_topic

log = logging.getLogger(__name__)
matcher = Matcher(load_rules(get_settings().rules_path))


def decode_article(raw: bytes | None) -> dict | None:
    """The article in a message, or None (logged) when the message is not a usable article."""
    try:
        article = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        log.warning("skipping a message on articles that is not JSON (%d bytes)", len(raw or b""))
        return None
    if not isinstance(article, dict) or not isinstance(article.get("id"), str):
        log.warning("skipping a message on articles without an 'id'")
        return None
    return article


@app.agent(articles_topic)
async def classify(stream):
    """Match each article against the rules and send every match to the alerts topic."""
    async for raw in stream:
        article = decode_article(raw)
        if article is None:
            continue
        for match in matcher.match(article):
            alert = build_alert(article, match)
            await alerts_topic.send(
                key=article["id"].encode(),
                value=json.dumps(alert, ensure_ascii=False).encode(),
            )
