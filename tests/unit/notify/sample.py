"""An alert v1 document as the worker writes it (the seed story's drone attack), and a local HTTP receiver."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SEED_ALERT: dict[str, Any] = {
    "schema_version": 1,
    "alert_id": "0123456789abcdef0123456789abcdef",
    "kind": "alert",
    "revision": 0,
    "rule": {
        "id": "drone_attack",
        "title": "Drone attack",
        "category": "conflict",
        "severity": "high",
        "tags": ["military"],
        "topic": None,
    },
    "article": {
        "id": "https://example.org/story-1",
        "url": "https://example.org/story-1",
        "title": "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia",
        "source": "Seed story (sample)",
        "feed_id": "sample-seed",
        "feed_tags": {"region": "ukraine"},
        "published": "2025-04-09T10:00:00Z",
        "text_source": "feed",
    },
    "matches": [
        {"term": "drones", "field": "content", "start": 10, "end": 16, "snippet": "launched 55 drones at Kyiv"}
    ],
    "actors": [
        {"id": "russia", "name": "Russia", "type": "state", "count": 3, "near": True},
        {"id": "china", "name": "China", "type": "state", "count": 2, "near": False},
    ],
    "score": 3.5,
    "sources": [
        {
            "source": "Seed story (sample)",
            "feed_id": "sample-seed",
            "url": "https://example.org/story-1",
            "article_id": "https://example.org/story-1",
        }
    ],
    "published_at": "2025-04-09T10:00:00Z",
    "fetched_at": "2025-04-09T10:01:00Z",
    "detected_at": "2025-04-09T10:01:02Z",
}


def alert(**overrides: Any) -> dict[str, Any]:
    """A copy of the seed alert; ``rule=``/``article=`` dicts are merged into its parts."""
    doc = copy.deepcopy(SEED_ALERT)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    return doc


def raw(doc: dict[str, Any]) -> bytes:
    """The alert's bytes as the worker puts them on the topic."""
    return json.dumps(doc, ensure_ascii=False).encode()


@dataclass
class Receiver:
    """What a local receiver got: every request's headers and body, in order."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@asynccontextmanager
async def receiver(answer: Callable[[int], int | float], path: str = "/hook") -> AsyncIterator[Receiver]:
    """An aiohttp server on 127.0.0.1 (a free port): request number n (from 1) gets ``answer(n)``: an HTTP status,
    or a float = seconds to wait before answering 200 (a slow receiver)."""
    got = Receiver("")

    async def handle(request: web.Request) -> web.Response:
        got.requests.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        result = answer(len(got.requests))
        if isinstance(result, float):
            await asyncio.sleep(result)
            return web.Response(status=200)
        return web.Response(status=result)

    app = web.Application()
    app.router.add_post(path, handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)  # a slow answer is not waited for at the end
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    got.url = f"http://127.0.0.1:{port}"
    try:
        yield got
    finally:
        await runner.cleanup()
