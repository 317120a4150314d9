"""``newswatch notify`` against the real broker, real HTTP receivers and a real Prometheus Alertmanager (Debian's
``prometheus-alertmanager``): an alert on the alert topic reaches the receiver, signed, with one idempotency key
over its retries; one no sink takes ends on the dead-letter topic with the reason; offsets are committed after.

The notifier runs in-process (NotifyStage, what ``newswatch notify`` runs) so each test reads its metrics and
stops it cleanly; test_notify_crash.py runs the real command and SIGKILLs it among 500 alerts (``make test-slow``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from newswatch.core.kafka import ensure_topics
from newswatch.notify.deliver import Deliverer, Sinks
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.reload import LiveNotify
from newswatch.notify.stage import NotifyStage, NotifyTopics
from newswatch.notify.webhook import SIGNATURE_HEADER, verify
from tests.integration.helpers import collect, free_port
from tests.unit.notify.sample import alert, raw

pytestmark = pytest.mark.integration

SECRET = "integration-secret"


def topics_for(bootstrap: str, name: str) -> NotifyTopics:
    suffix = f"{name}-{uuid.uuid4().hex[:8]}"
    topics = NotifyTopics(bootstrap, f"alerts-{suffix}", f"notify.dead-letter-{suffix}", f"notify-{suffix}", "earliest")
    ensure_topics(bootstrap, [topics.alerts, topics.dead_letter], partitions=1)
    return topics


def produce(bootstrap: str, topic: str, *docs: dict[str, Any]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for doc in docs:
        producer.send(topic, raw(doc), key=doc["rule"]["id"].encode())
    producer.flush(30)
    producer.close()


def committed(bootstrap: str, topics: NotifyTopics) -> int | None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({topics.group: None}).get(topics.group, {})
    finally:
        admin.close()
    found = offsets.get(TopicPartition(topics.alerts, 0))
    return found.offset if found else None


@asynccontextmanager
async def http_receiver(answer: Any) -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A local receiver: ``answer(n, path)`` gives request n's status (from 1), or seconds to wait before a 200."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        got.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        result = answer(len(got), request.path)
        if isinstance(result, float):  # a slow receiver: answers 200 after this many seconds
            await asyncio.sleep(result)
            return web.Response(status=200)
        return web.Response(status=result)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)  # a slow answer is not waited for at the end
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", got  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def notifier(topics: NotifyTopics, notify_yaml: Path) -> AsyncIterator[NotifyStage]:
    """The notifier's loop on this test's topics, stopped (deliveries finished, offsets committed) on exit."""
    metrics = NotifyMetrics(CollectorRegistry())
    sinks = Sinks(metrics)
    async with httpx.AsyncClient(follow_redirects=False) as client:
        stage = NotifyStage(
            topics, LiveNotify(notify_yaml, {"HOOK_SECRET": SECRET}), sinks, Deliverer(sinks, client, metrics), metrics
        )
        stop = asyncio.Event()
        task = asyncio.create_task(stage.run(stop))
        try:
            yield stage
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


async def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def webhook_file(tmp_path: Path, url: str, attempts: int) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "sinks:\n"
        "  hook:\n"
        "    type: webhook\n"
        f"    url: {url}/hook\n"
        "    secret_env: HOOK_SECRET\n"
        f"    retry: {{attempts: {attempts}, initial_backoff: 0.05, max_backoff: 0.2}}\n"
        "routes:\n"
        "  - sinks: [hook]\n"
    )
    return path


def test_500_three_times_then_200_gets_the_alert_once_signed_with_one_key(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = topics_for(kafka_bootstrap, "webhook-retry")
    doc = alert()

    async def scenario() -> None:
        async with http_receiver(lambda n, path: 500 if n <= 3 else 200) as (url, got):
            async with notifier(topics, webhook_file(tmp_path, url, attempts=5)) as stage:
                produce(kafka_bootstrap, topics.alerts, doc)
                await wait_for(lambda: len(got) >= 4)
                await asyncio.sleep(1.0)  # nothing more comes
                delivered = stage.metrics.registry.get_sample_value(
                    "newswatch_notify_delivered_total", {"sink": "hook"}
                )
            assert len(got) == 4 and delivered == 1
            assert {headers["idempotency-key"] for headers, _ in got} == {doc["alert_id"]}
            for headers, body in got:
                assert json.loads(body) == doc
                assert verify(SECRET.encode(), body, headers[SIGNATURE_HEADER.lower()])

    asyncio.run(scenario())
    assert committed(kafka_bootstrap, topics) == 1


def test_a_receiver_that_always_fails_sends_the_alert_to_the_dead_letters(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = topics_for(kafka_bootstrap, "webhook-dead")
    doc = alert()

    async def scenario() -> None:
        async with (
            http_receiver(lambda n, path: 500) as (url, got),
            notifier(topics, webhook_file(tmp_path, url, attempts=3)),
        ):
            produce(kafka_bootstrap, topics.alerts, doc)
            await wait_for(lambda: len(got) >= 3)
            await asyncio.sleep(1.0)

    asyncio.run(scenario())
    letters = collect(kafka_bootstrap, topics.dead_letter, until=lambda m: len(m) >= 1, timeout=30)
    assert [(m["sink"], m["reason"], m["attempts"], m["alert"]["alert_id"]) for m in letters] == [
        ("hook", "http_500", 3, doc["alert_id"])
    ]
    assert committed(kafka_bootstrap, topics) == 1


def test_a_slow_receiver_is_retried_not_waited_on(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = topics_for(kafka_bootstrap, "webhook-slow")
    path = tmp_path / "notify.yaml"

    async def scenario() -> None:
        async with http_receiver(lambda n, _: 30.0 if n == 1 else 200) as (url, got):
            path.write_text(
                webhook_file(tmp_path, url, attempts=3).read_text().replace("retry:", "timeout: 1\n    retry:")
            )
            async with notifier(topics, path) as stage:
                started = time.monotonic()
                produce(kafka_bootstrap, topics.alerts, alert())
                await wait_for(
                    lambda: (
                        stage.metrics.registry.get_sample_value("newswatch_notify_delivered_total", {"sink": "hook"})
                        == 1
                    ),
                    timeout=20,
                )
                assert time.monotonic() - started < 15  # not the receiver's 30 s
                labels = {"sink": "hook", "reason": "timeout"}
                assert stage.metrics.registry.get_sample_value("newswatch_notify_failed_total", labels) == 1
            assert len(got) == 2 and got[0][0]["idempotency-key"] == got[1][0]["idempotency-key"]

    asyncio.run(scenario())
    assert committed(kafka_bootstrap, topics) == 1


# --- Alertmanager ------------------------------------------------------------------------------------------------


def alertmanager_config(path: Path, receiver_url: str) -> Path:
    path.write_text(
        "route:\n"
        "  receiver: test\n"
        "  group_by: [alert_id]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 4h\n"
        "receivers:\n"
        "  - name: test\n"
        "    webhook_configs:\n"
        f"      - url: {receiver_url}/alertmanager\n"
        "        send_resolved: false\n"
    )
    return path


@pytest.fixture
def alertmanager(tmp_path: Path) -> Any:
    """A real Alertmanager on a free port (clustering off), forwarding to the URL the test writes in its config."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "prometheus-alertmanager is missing: `make install` runs scripts/install-system-deps"
    started: list[subprocess.Popen[bytes]] = []

    def start(receiver_url: str) -> str:
        port = free_port()
        config = alertmanager_config(tmp_path / "alertmanager.yml", receiver_url)
        log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 - the child's for its lifetime
        started.append(
            subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am-data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return base
            except OSError:
                time.sleep(0.2)
        raise AssertionError((tmp_path / "alertmanager.log").read_text()[-2000:])

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def test_seed_alert_goes_through_alertmanager_to_its_receiver_a_repost_is_harmless_and_a_silence_stops_the_next(
    kafka_bootstrap: str, tmp_path: Path, alertmanager: Any
) -> None:
    topics = topics_for(kafka_bootstrap, "alertmanager")
    first, second = alert(), alert(alert_id="f" * 32)

    async def scenario() -> None:
        async with http_receiver(lambda n, path: 200) as (url, got):
            base = alertmanager(url)
            path = tmp_path / "notify.yaml"
            path.write_text(f"sinks:\n  am: {{type: alertmanager, url: '{base}'}}\nroutes:\n  - sinks: am\n")
            async with notifier(topics, path):
                produce(kafka_bootstrap, topics.alerts, first)
                await wait_for(lambda: len(got) >= 1)
                message = json.loads(got[0][1])
                labels = message["alerts"][0]["labels"]
                assert labels["rule"] == "drone_attack" and labels["severity"] == "high"
                assert labels["alert_id"] == first["alert_id"] and labels["actors"] == "china,russia"
                assert message["alerts"][0]["annotations"]["title"] == first["article"]["title"]
                # the same alert again (a redelivery after a crash): Alertmanager merges it, nobody hears it twice
                produce(kafka_bootstrap, topics.alerts, first)
                # a silence on the rule, made through Alertmanager's API, then the rule's next story
                silence = {
                    "matchers": [{"name": "rule", "value": "drone_attack", "isRegex": False, "isEqual": True}],
                    "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
                    "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
                    "createdBy": "test", "comment": "quiet",
                }  # fmt: skip
                async with httpx.AsyncClient() as client:
                    assert (await client.post(f"{base}/api/v2/silences", json=silence)).status_code == 200
                    produce(kafka_bootstrap, topics.alerts, second)

                    async def state() -> str | None:
                        for item in (await client.get(f"{base}/api/v2/alerts")).json():
                            if item["labels"].get("alert_id") == second["alert_id"]:
                                return item["status"]["state"]
                        return None

                    deadline = time.monotonic() + 30
                    while await state() != "suppressed":
                        assert time.monotonic() < deadline, "the second alert never reached Alertmanager silenced"
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(3)  # several group intervals: nothing is sent for the repeat nor for it
                assert len(got) == 1

    asyncio.run(scenario())
    assert committed(kafka_bootstrap, topics) == 3
