"""The team's real articles (``../shared/data/articles/articles.jsonl``) as article messages, for the benches and
the scale-out tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def real_articles(shared_data: Path, count: int) -> list[dict[str, Any]]:
    """``count`` articles built from ``articles/articles.jsonl``; cycled with new ids when it holds fewer.

    A cycled article keeps its URL and title, so the route agent sees it as another source of a story it
    alerted on: that exercises story dedup too.
    """
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    rows = [json.loads(line) for line in (shared_data / "articles" / "articles.jsonl").open(encoding="utf-8")]
    out: list[dict[str, Any]] = []
    while len(out) < count:
        lap = len(out) // len(rows)
        row = rows[len(out) % len(rows)]
        out.append(
            {
                "schema_version": 1,
                "id": row["id"] if lap == 0 else f"lap{lap}-{row['id']}",
                "title": row.get("title") or "",
                "content": (row.get("text") or "")[:20_000],
                "url": row.get("url"),
                "source": row.get("source"),
                "feed_id": row.get("source"),
                "feed_tags": {},
                "published": None,
                "fetched_at": now,
            }
        )
    return out
