"""Build the alert document for one article and one matched event rule."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from matcher.engine import EventMatch

SCHEMA_VERSION = 1
MAX_MATCHES = 20  # evidence enough for a reader; keeps an alert small whatever the article's length


def alert_id(article_id: str, rule_id: str) -> str:
    """Deterministic: the same article and rule always give the same id, so consumers can drop duplicates."""
    return hashlib.sha256(f"{article_id}\x1f{rule_id}".encode()).hexdigest()[:32]


def build_alert(article: dict[str, Any], match: EventMatch, *, detected_at: datetime | None = None) -> dict[str, Any]:
    """The alert for ``article`` matching ``match.rule``."""
    rule = match.rule
    detected = (detected_at or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(article["id"], rule.id),
        "rule": {
            "id": rule.id,
            "title": rule.title,
            "category": rule.category,
            "severity": rule.severity,
            "tags": list(rule.tags),
            "topic": rule.topic,
        },
        "article": {
            "id": article["id"],
            "url": article.get("url"),
            "title": article.get("title", ""),
            "source": article.get("source"),
            "feed_id": article.get("feed_id"),
            "feed_tags": article.get("feed_tags", {}),
            "published": article.get("published"),
        },
        "matches": [hit.to_dict() for hit in match.hits[:MAX_MATCHES]],
        "actors": [actor.to_dict() for actor in match.actors],
        "score": match.score,
        "published_at": article.get("published"),
        "fetched_at": article.get("fetched_at"),
        "detected_at": detected,
    }
