"""Build the alert document for one article and one matched event rule."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from newswatch.alerts.limits import MAX_ACTORS, MAX_SNIPPET_BYTES, MAX_TERM_BYTES, clip
from newswatch.core.clock import utc_iso
from newswatch.matcher.engine import EventMatch, Hit

SCHEMA_VERSION = 1
MAX_MATCHES = 20  # evidence enough for a reader; keeps an alert small whatever the article's length


def alert_id(article_id: str, rule_id: str) -> str:
    """Deterministic: the same article and rule always give the same id, so consumers can drop duplicates."""
    return hashlib.sha256(f"{article_id}\x1f{rule_id}".encode()).hexdigest()[:32]


def _evidence(hit: Hit) -> dict[str, Any]:
    """A hit as an alert lists it, its texts cut to their caps (alerts/limits.py): a regex term may match a long
    span, and twenty such hits once made an alert larger than a message may be."""
    evidence = hit.to_dict()
    evidence["term"] = clip(hit.term, MAX_TERM_BYTES)
    evidence["pattern"] = clip(hit.pattern, MAX_TERM_BYTES)
    evidence["snippet"] = clip(hit.snippet, MAX_SNIPPET_BYTES)
    return evidence


def _listed_actors(match: EventMatch) -> list[Any]:
    """The actors an alert lists: all of them up to MAX_ACTORS; past it, those near the evidence first (what a
    per-actor escalation counts), each group most mentioned first."""
    if len(match.actors) <= MAX_ACTORS:
        return match.actors
    return sorted(match.actors, key=lambda actor: not actor.near)[:MAX_ACTORS]


def build_alert(article: dict[str, Any], match: EventMatch, *, detected_at: datetime | None = None) -> dict[str, Any]:
    """The alert for ``article`` matching ``match.rule``."""
    rule = match.rule
    detected = utc_iso(detected_at or datetime.now(UTC))
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(article["id"], rule.id),
        "kind": "alert",
        "revision": 0,
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
            # "page" when the rules read the item's web page (the full-text stage), "feed" when the feed's text
            "text_source": article.get("text_source") or "feed",
        },
        "matches": [_evidence(hit) for hit in match.hits[:MAX_MATCHES]],
        "actors": [actor.to_dict() for actor in _listed_actors(match)],
        "score": match.score,
        "sources": [
            {
                "source": article.get("source"),
                "feed_id": article.get("feed_id"),
                "url": article.get("url"),
                "article_id": article["id"],
            }
        ],
        "published_at": article.get("published"),
        "fetched_at": article.get("fetched_at"),
        "detected_at": detected,
    }


def escalation_alert(alert: dict[str, Any], fired: dict[str, Any], severity: str, key: str = "*") -> dict[str, Any]:
    """The alert raised when a rule's escalation threshold is crossed (for one actor when ``key`` names one).

    Its id is fixed by rule, key and window start, so a redelivered escalation keeps its id.
    """
    rule = {**alert["rule"], "severity": severity}
    basis = f"{rule['id']}\x1fescalation\x1f{key}\x1f{int(fired['window_start'])}"
    if key != "*":
        fired = {**fired, "actor": key}
    return {
        **alert,
        "alert_id": hashlib.sha256(basis.encode()).hexdigest()[:32],
        "kind": "escalation",
        "revision": 0,
        "rule": rule,
        "escalation": fired,
    }


def headers(alert: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Kafka headers so consumers can filter without parsing the JSON value."""
    return [
        ("content-type", b"application/json"),
        ("schema-version", str(alert["schema_version"]).encode()),
        ("alert-kind", str(alert.get("kind", "alert")).encode()),
        ("rule-id", str(alert["rule"]["id"]).encode()),
        ("severity", str(alert["rule"]["severity"]).encode()),
    ]
