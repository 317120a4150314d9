"""The webhook sink against a real local HTTP receiver (aiohttp): signature, idempotency key, retries with
back-off, timeouts, the circuit breaker, templates. Waits between tries are recorded, not slept."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from newswatch.notify.config import NotifyConfig, WebhookSink
from newswatch.notify.deliver import Deliverer, Result, Sinks
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.template import Template
from newswatch.notify.webhook import SIGNATURE_HEADER, Webhook, idempotency_key, signature, verify
from tests.conftest import ROOT
from tests.unit.notify.sample import alert, raw, receiver

SECRET = "correct horse battery staple"


def config(url: str, **sink: Any) -> NotifyConfig:
    hook = {"type": "webhook", "url": url, "sign": True, **sink}
    cfg = NotifyConfig.model_validate({"sinks": {"hook": hook}, "routes": [{"sinks": ["hook"]}]})
    webhook = cfg.sinks["hook"]
    assert isinstance(webhook, WebhookSink)
    if webhook.sign:
        webhook.secret = webhook.secret or SecretStr(SECRET)
    if webhook.template:
        webhook.template_text = webhook.template
    return cfg


async def deliver(
    cfg: NotifyConfig, doc: dict[str, Any], clock: Any = None
) -> tuple[Result, list[float], NotifyMetrics]:
    metrics = NotifyMetrics(CollectorRegistry())
    sinks = Sinks(metrics, clock) if clock else Sinks(metrics)
    sinks.update(cfg)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient(follow_redirects=False) as client:
        deliverer = Deliverer(sinks, client, metrics, sleep=sleep, rand=lambda: 1.0)
        result = await deliverer.deliver("hook", doc, raw(doc), 0.0)
    return result, waits, metrics


def value(metrics: NotifyMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_signature_is_hmac_sha256_of_the_body_and_verifies() -> None:
    body = raw(alert())
    header = signature(SECRET.encode(), body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(SECRET.encode(), body, header)
    assert not verify(SECRET.encode(), body + b" ", header)
    assert not verify(b"another secret", body, header)


def test_idempotency_key_is_the_alert_id_and_an_update_gets_its_own() -> None:
    assert idempotency_key(alert()) == alert()["alert_id"]
    assert idempotency_key(alert(kind="update", revision=2)) == alert()["alert_id"] + ".2"


def test_500_three_times_then_200_delivers_once_with_the_same_key_and_a_valid_signature() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 500 if n <= 3 else 200) as got:
            doc = alert()
            result, waits, metrics = await deliver(config(got.url + "/hook"), doc)
            assert result.delivered and result.attempts == 4
            assert len(got.requests) == 4
            assert {headers["idempotency-key"] for headers, _ in got.requests} == {doc["alert_id"]}
            for headers, body in got.requests:
                assert body == raw(doc)  # the alert v1 document, exactly as it was on the topic
                assert json.loads(body)["alert_id"] == doc["alert_id"]
                assert verify(SECRET.encode(), body, headers[SIGNATURE_HEADER.lower()])
                assert headers["content-type"] == "application/json"
            assert waits == [1.0, 2.0, 4.0]  # exponential (jitter pinned at its bound here)
            assert value(metrics, "newswatch_notify_delivered_total", sink="hook") == 1
            assert value(metrics, "newswatch_notify_retried_total", sink="hook") == 3
            assert value(metrics, "newswatch_notify_failed_total", sink="hook", reason="http_500") == 3
            assert value(metrics, "newswatch_notify_delivery_seconds_count", sink="hook") == 1

    asyncio.run(scenario())


def test_a_receiver_that_always_fails_gets_the_bounded_tries_then_the_alert_is_given_up() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 503) as got:
            cfg = config(got.url + "/hook", retry={"attempts": 4, "initial_backoff": 1, "max_backoff": 3})
            result, waits, _ = await deliver(cfg, alert())
            assert not result.delivered and result.reason == "http_503" and result.attempts == 4
            assert len(got.requests) == 4
            assert waits == [1.0, 2.0, 3.0]  # capped at max_backoff

    asyncio.run(scenario())


def test_a_slow_receiver_is_cut_at_the_timeout_and_tried_again() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 1.0 if n == 1 else 200) as got:
            loop = asyncio.get_running_loop()
            started = loop.time()
            result, _, metrics = await deliver(config(got.url + "/hook", timeout=0.2), alert())
            assert result.delivered and result.attempts == 2
            assert loop.time() - started < 0.9  # not waited on for its 1 s
            assert value(metrics, "newswatch_notify_failed_total", sink="hook", reason="timeout") == 1

    asyncio.run(scenario())


def test_a_4xx_answer_is_not_retried() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 400) as got:
            result, waits, _ = await deliver(config(got.url + "/hook"), alert())
            assert (result.delivered, result.reason, result.attempts, waits) == (False, "http_400", 1, [])

    asyncio.run(scenario())


def test_retry_after_is_followed_within_the_bound() -> None:
    async def scenario() -> None:
        from aiohttp import web

        calls = 0

        async def handle(request: web.Request) -> web.Response:
            nonlocal calls
            calls += 1
            return web.Response(status=429, headers={"Retry-After": "7"}) if calls == 1 else web.Response()

        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            result, waits, _ = await deliver(config(f"http://127.0.0.1:{port}/hook"), alert())
        finally:
            await runner.cleanup()
        assert result.delivered and waits == [7.0]

    asyncio.run(scenario())


def test_the_circuit_opens_and_later_tries_send_no_request() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 500) as got:
            cfg = config(got.url + "/hook", retry={"attempts": 5}, circuit={"failures": 2, "cooldown": 60})
            result, _, metrics = await deliver(cfg, alert(), clock=lambda: 0.0)
            assert len(got.requests) == 2  # the endpoint was asked twice, not five times
            assert (result.delivered, result.reason, result.attempts) == (False, "circuit_open", 5)
            assert "http_500" in result.detail
            assert value(metrics, "newswatch_notify_circuit_open", sink="hook") == 1

    asyncio.run(scenario())


def test_an_unreachable_endpoint_is_a_connection_failure() -> None:
    async def scenario() -> None:
        result, _, _ = await deliver(config("http://127.0.0.1:9/hook", retry={"attempts": 2}), alert())
        assert (result.delivered, result.reason, result.attempts) == (False, "connection", 2)

    asyncio.run(scenario())


HOSTILE_TITLE = 'Drones hit "Kyiv"\n<https://evil.example|click here> & more'


def test_the_slack_template_renders_valid_json_with_feed_text_escaped() -> None:
    """A headline is third-party text: quotes and newlines must not break the JSON, nor '<' open a Slack link."""
    template = Template((ROOT / "config" / "notify" / "slack.json.j2").read_text())
    body = json.loads(template.render(alert(article={"title": HOSTILE_TITLE})))
    assert body["text"].startswith(':red_circle: [HIGH] drone_attack: Drones hit "Kyiv"')
    section = body["blocks"][0]["text"]["text"]
    assert "<https://evil.example|" not in section and "&lt;https://evil.example|click here&gt; &amp; more" in section
    assert body["blocks"][1]["elements"][1]["text"] == "> launched 55 drones at Kyiv"
    escalation = json.loads(template.render(alert(kind="escalation", matches=[])))
    assert "ESCALATION" in escalation["text"] and len(escalation["blocks"][1]["elements"]) == 1


def test_a_templated_body_is_what_is_signed_and_a_failing_template_is_not_retried() -> None:
    async def scenario() -> None:
        async with receiver(lambda n: 200) as got:
            cfg = config(got.url + "/hook", template='{"text": {{ alert.rule.id|tojson }}}')
            result, _, _ = await deliver(cfg, alert())
            headers, body = got.requests[0]
            assert result.delivered and json.loads(body) == {"text": "drone_attack"}
            assert verify(SECRET.encode(), body, headers[SIGNATURE_HEADER.lower()])
            broken = config(got.url + "/hook", template="{{ alert.rule.id }}")  # not JSON
            result, waits, _ = await deliver(broken, alert())
            assert (result.delivered, result.reason, result.attempts, waits) == (False, "template", 1, [])
            assert len(got.requests) == 1

    asyncio.run(scenario())


def test_the_secret_and_the_url_never_show_in_the_sinks_repr() -> None:
    cfg = config("https://hooks.example.org/T000/secret-token")
    hook = cfg.sinks["hook"]
    assert isinstance(hook, WebhookSink)
    text = repr(Webhook("hook", hook)) + repr(hook)
    assert SECRET not in text and "secret-token" not in repr(Webhook("hook", hook))


def test_a_4xx_answer_to_the_probe_closes_the_circuit() -> None:
    """The endpoint answered: it is up (the 400 is this alert's problem), so the next alert is sent."""

    async def scenario() -> None:
        async with receiver(lambda n: 503 if n == 1 else 400) as got:
            cfg = config(got.url + "/hook", retry={"attempts": 1}, circuit={"failures": 1, "cooldown": 10})
            metrics = NotifyMetrics(CollectorRegistry())
            now = [0.0]
            sinks = Sinks(metrics, lambda: now[0])
            sinks.update(cfg)
            async with httpx.AsyncClient() as client:
                deliverer = Deliverer(sinks, client, metrics)
                assert (await deliverer.deliver("hook", alert(), raw(alert()), 0.0)).reason == "http_503"
                assert (await deliverer.deliver("hook", alert(), raw(alert()), 0.0)).reason == "circuit_open"
                now[0] = 10.0
                assert (await deliverer.deliver("hook", alert(), raw(alert()), 0.0)).reason == "http_400"
                assert not sinks.breakers["hook"].is_open
            assert len(got.requests) == 2

    asyncio.run(scenario())


def test_configured_headers_cannot_duplicate_ours() -> None:
    hook = config("http://127.0.0.1:9/hook", headers={"Content-Type": "text/plain", "X-Team": "ops"}).sinks["hook"]
    assert isinstance(hook, WebhookSink)
    _, headers = Webhook("hook", hook).request(alert(), raw(alert()))
    assert headers["content-type"] == "application/json" and headers["x-team"] == "ops"
    assert "Content-Type" not in headers
