"""The notifier's loop without a broker: what a message becomes (delivered, dead-lettered with its reason, skipped
as malformed) and when its offset may be committed (only once every sink is done with it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from newswatch.notify.decode import decode_alert
from newswatch.notify.deliver import Deliverer, Sinks
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.reload import LiveNotify
from newswatch.notify.stage import NotifyStage, NotifyTopics
from tests.unit.notify.sample import alert, raw

TP = TopicPartition("alerts", 0)


class FakeProducer:
    """Records what would go to Kafka; ``fail`` makes every send time out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []
        self.fail = False

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None, headers: Any) -> None:
        if self.fail:
            raise KafkaTimeoutError()
        self.sent.append((topic, key, value, headers))


def notify_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "sinks:\n"
        f"  good: {{type: webhook, url: '{url}/good', sign: false, retry: {{attempts: 2, initial_backoff: 0.01}}}}\n"
        f"  bad: {{type: webhook, url: '{url}/bad', sign: false, retry: {{attempts: 2, initial_backoff: 0.01}}}}\n"
        "routes:\n"
        "  - sinks: [good]\n"
        "  - match: {rule: drone_attack}\n"
        "    sinks: [bad]\n"
    )
    return path


async def stage_for(tmp_path: Path, url: str, client: httpx.AsyncClient) -> tuple[NotifyStage, FakeProducer]:
    metrics = NotifyMetrics(CollectorRegistry())
    sinks = Sinks(metrics)
    live = LiveNotify(notify_file(tmp_path, url), {})
    topics = NotifyTopics("127.0.0.1:1", "alerts", "notify.dead-letter", "newswatch-notify")
    stage = NotifyStage(topics, live, sinks, Deliverer(sinks, client, metrics), metrics)
    producer = FakeProducer()
    stage.producer = producer  # type: ignore[assignment]
    return stage, producer


def test_decode_takes_alerts_and_refuses_what_is_not_one() -> None:
    assert decode_alert(raw(alert())) == alert()
    for bad in (b"", b"not json", b"[1]", raw({**alert(), "alert_id": "short"}), raw({**alert(), "rule": "x"}),
                raw({**alert(), "schema_version": 2}), raw({**alert(), "revision": -1}), b"[" * 100_000):  # fmt: skip
        assert decode_alert(bad) is None


def test_each_sink_that_gives_up_sends_a_dead_letter_with_its_reason_and_then_the_offset_is_done(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            return web.Response(status=200 if request.path == "/good" else 503)

        app = web.Application()
        app.router.add_post("/{name}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        try:
            async with httpx.AsyncClient() as client:
                stage, producer = await stage_for(tmp_path, url, client)
                stage.offsets.started(TP, 5)
                await stage._handle(TP, 5, b"drone_attack", raw(alert()))
                assert stage.offsets.committable() == {TP: 6}
                (topic, key, value, headers) = producer.sent[0]
                letter = json.loads(value)
                assert (topic, key) == ("notify.dead-letter", alert()["alert_id"].encode())
                assert (letter["sink"], letter["reason"], letter["attempts"]) == ("bad", "http_503", 2)
                assert (letter["topic"], letter["partition"], letter["offset"]) == ("alerts", 0, 5)
                assert letter["alert"] == alert() and letter["raw"] is None
                assert dict(headers)["reason"] == b"http_503"
                registry = stage.metrics.registry
                assert registry.get_sample_value("newswatch_notify_delivered_total", {"sink": "good"}) == 1
                labels = {"sink": "bad", "reason": "http_503"}
                assert registry.get_sample_value("newswatch_notify_dead_lettered_total", labels) == 1
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_a_message_that_is_not_an_alert_is_dead_lettered_as_malformed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient() as client:
            stage, producer = await stage_for(tmp_path, "http://127.0.0.1:9", client)
            stage.offsets.started(TP, 0)
            await stage._handle(TP, 0, b"k", b"\xff not json")
            letter = json.loads(producer.sent[0][2])
            assert (letter["sink"], letter["reason"], letter["alert"]) == ("-", "malformed", None)
            assert letter["raw"] == "\ufffd not json" and producer.sent[0][1] == b"k"
            assert stage.offsets.committable() == {TP: 1}

    asyncio.run(scenario())


def test_an_unacknowledged_dead_letter_while_stopping_leaves_the_offset_uncommitted(tmp_path: Path) -> None:
    """At least once: an alert neither delivered nor on the dead-letter topic is read again after a restart."""

    async def scenario() -> None:
        async with httpx.AsyncClient() as client:
            stage, producer = await stage_for(tmp_path, "http://127.0.0.1:9", client)  # nothing listens: fails
            producer.fail, stage._stopping = True, True
            stage.offsets.started(TP, 7)
            with pytest.raises(KafkaTimeoutError):
                await stage._handle(TP, 7, None, raw(alert()))
            assert stage.offsets.committable() == {TP: 7}

    asyncio.run(scenario())


def test_an_alert_no_route_takes_is_done_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient() as client:
            stage, producer = await stage_for(tmp_path, "http://127.0.0.1:9", client)
            stage.live.config.routes = stage.live.config.routes[1:]  # only the drone_attack route is left
            stage.offsets.started(TP, 3)
            await stage._handle(TP, 3, None, raw(alert(rule={"id": "other"})))
            assert producer.sent == [] and stage.offsets.committable() == {TP: 4}

    asyncio.run(scenario())


def test_a_reload_keeps_the_breaker_of_an_unchanged_sink_and_drops_removed_ones() -> None:
    from newswatch.notify.config import NotifyConfig

    def cfg(**sinks: dict) -> NotifyConfig:
        return NotifyConfig.model_validate({"sinks": sinks, "routes": [{"sinks": list(sinks)}]})

    am = {"type": "alertmanager", "url": "http://127.0.0.1:9093"}
    sinks = Sinks(NotifyMetrics(CollectorRegistry()))
    sinks.update(cfg(a=am, b=am))
    breaker_a, breaker_b = sinks.breakers["a"], sinks.breakers["b"]
    sinks.update(cfg(a=am, b={**am, "url": "http://127.0.0.1:9094"}, c=am))
    assert sinks.breakers["a"] is breaker_a  # an open circuit stays open across an unrelated edit
    assert sinks.breakers["b"] is not breaker_b and sinks.endpoints["b"].config.url.endswith(":9094")
    sinks.update(cfg(c=am))
    assert set(sinks.endpoints) == set(sinks.breakers) == {"c"}
