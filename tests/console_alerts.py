"""Realistic alerts for the console's tests: the real engine on the seed story, built as the worker builds them.

Shared by the console's unit and integration tests (integration tests produce them to a test topic). Every alert
made here is checked against the published contract (config/schemas/alert.v1.json).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jsonschema

from newswatch.alerts.build import build_alert, headers
from newswatch.core.settings import shipped
from newswatch.matcher import Matcher, load_rules
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "config" / "schemas" / "alert.v1.json").read_text())
SEED = ROOT.parent / "shared" / "data" / "seed-article.txt"
SEED_TITLE = "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia"


@lru_cache(maxsize=1)
def matcher() -> Matcher:
    return Matcher(load_rules(shipped("rules")))


def seed_article(article_id: str = "seed-1", **fields: Any) -> dict[str, Any]:
    """The seed story as the poller would put it on ``articles``."""
    text = SEED.read_text(encoding="utf-8") if SEED.exists() else f"{SEED_TITLE}. Chinese mercenaries fight for Russia."
    return {
        "id": article_id,
        "title": SEED_TITLE,
        "text": text,
        "url": "https://example.org/seed-story",
        "source": "Seed story (sample)",
        "feed_id": "seed",
        "feed_tags": {},
        "published": "2025-04-10T09:00:00Z",
        "fetched_at": "2025-04-10T09:05:00Z",
        **fields,
    }


def alerts_for(article: dict[str, Any], detected_at: datetime | None = None) -> list[dict[str, Any]]:
    """The alerts the shipped rules raise for ``article``, each valid against the contract."""
    built = [build_alert(article, match, detected_at=detected_at) for match in matcher().match(article)]
    for alert in built:
        jsonschema.validate(alert, SCHEMA)
    return built


def synthetic(
    index: int,
    *,
    rule: str = "drone_attack",
    severity: str = "high",
    title: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A small valid alert (for volume): a distinct story per ``index``."""
    moment = (at or datetime(2026, 12, 1, tzinfo=UTC)) + timedelta(seconds=index)
    alert = {
        "schema_version": 1,
        "alert_id": f"{index:032x}",
        "kind": "alert",
        "revision": 0,
        "rule": {"id": rule, "title": rule.replace("_", " "), "category": "conflict", "severity": severity, "tags": []},
        "article": {
            "id": f"a{index}",
            "url": f"https://example.org/{index}",
            "title": title or f"Story {index}",
            "source": f"Feed {index % 7}",
            "feed_id": f"feed{index % 7}",
            "feed_tags": {},
            "published": None,
            "text_source": "feed",
        },
        "actors": [{"id": "russia", "name": "Russia", "type": "country", "count": 2, "near": True}],
        "matches": [
            {
                "term": "drones",
                "pattern": "drones",
                "field": "text",
                "start": 10,
                "end": 16,
                "snippet": f"Russia launched drones at a depot, report {index}",
            }
        ],
        "score": 1.0,
        "sources": [
            {
                "source": f"Feed {index % 7}",
                "feed_id": f"feed{index % 7}",
                "url": f"https://example.org/{index}",
                "article_id": f"a{index}",
            }
        ],
        "published_at": None,
        "fetched_at": None,
        "detected_at": moment.isoformat().replace("+00:00", "Z"),
    }
    return alert


def update_of(alert: dict[str, Any], source: str, revision: int = 1) -> dict[str, Any]:
    """An update of ``alert``'s story from another source (same alert_id, next revision), as route.py sends."""
    extra = {
        "source": source,
        "feed_id": source.lower().replace(" ", "-"),
        "url": f"https://example.com/{source}",
        "article_id": f"{alert['article']['id']}-{source}",
    }
    return {**alert, "kind": "update", "revision": revision, "sources": [*alert["sources"], extra]}


def message(alert: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) as the worker sends ``alert``."""
    return str(alert["rule"]["id"]).encode(), json.dumps(alert).encode(), headers(alert)
