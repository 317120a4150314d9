"""Issue 19's crash scenario: a real ``newswatch notify`` process SIGKILLed in the middle of 500 alerts, then started
again: every alert reaches the receiver, and any alert received twice carries the same idempotency key (at least
once, the offsets committed only after delivery). Slow: ``make test-slow``."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest
from aiohttp import web

from newswatch.core.kafka import ensure_topics
from tests.integration.helpers import free_port, start_service, stop
from tests.integration.test_notify import produce
from tests.unit.notify.sample import alert

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 500


def test_sigkill_among_500_alerts_then_a_restart_delivers_every_one(kafka_bootstrap: str, tmp_path: Path) -> None:
    suffix = f"{os.getpid()}-{int(time.time())}"
    alerts_topic, dead_letter, group = (
        f"alerts-crash-{suffix}",
        f"notify.dead-letter-crash-{suffix}",
        f"notify-{suffix}",
    )
    ensure_topics(kafka_bootstrap, [alerts_topic, dead_letter], partitions=2)
    docs = [alert(alert_id=f"{n:032x}") for n in range(COUNT)]
    keys: dict[str, list[str]] = defaultdict(list)  # alert id -> idempotency keys received

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        keys[request.headers["X-Newswatch-Alert-Id"]].append(request.headers["Idempotency-Key"])
        await asyncio.sleep(0.02)  # a receiver that takes a moment: the kill lands mid-way
        return web.Response()

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        notify_yaml = tmp_path / "notify.yaml"
        notify_yaml.write_text(
            f"sinks:\n  hook: {{type: webhook, url: 'http://127.0.0.1:{port}/hook', secret_env: HOOK_SECRET}}\n"
            "routes:\n  - sinks: hook\n"
        )
        env = {
            **os.environ,
            "HOOK_SECRET": "crash-test",
            "NEWSWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "NEWSWATCH_ALERTS_TOPIC": alerts_topic,
            "NEWSWATCH_NOTIFY_FILE": str(notify_yaml),
            "NEWSWATCH_NOTIFY_GROUP": group,
            "NEWSWATCH_NOTIFY_DEAD_LETTER_TOPIC": dead_letter,
            "NEWSWATCH_NOTIFY_AUTO_OFFSET_RESET": "earliest",
            "NEWSWATCH_NOTIFY_IN_FLIGHT": "4",
        }
        produce(kafka_bootstrap, alerts_topic, *docs)
        first = start_service({**env, "NEWSWATCH_NOTIFY_METRICS_PORT": str(free_port())}, tmp_path / "n1.log", "notify")
        try:
            deadline = time.monotonic() + 90
            while len(keys) < COUNT // 3:
                assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "n1.log").read_text()[-3000:]
                await asyncio.sleep(0.05)
        finally:
            stop(first, signal.SIGKILL)
        received_before = len(keys)
        assert received_before < COUNT, "the kill came too late to test anything"
        second = start_service(
            {**env, "NEWSWATCH_NOTIFY_METRICS_PORT": str(free_port())}, tmp_path / "n2.log", "notify"
        )
        try:
            deadline = time.monotonic() + 120
            while len(keys) < COUNT:
                assert time.monotonic() < deadline and second.poll() is None, (tmp_path / "n2.log").read_text()[-3000:]
                await asyncio.sleep(0.1)
        finally:
            stop(second)
            await runner.cleanup()

    asyncio.run(scenario())
    assert set(keys) == {doc["alert_id"] for doc in docs}
    assert all(set(got) == {alert_id} for alert_id, got in keys.items())  # repeats carry the same key
