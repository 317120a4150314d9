"""No silent loss: in the middle of a stream the broker stops taking alerts for longer than the worker's producer
timeout, then takes them again. Those sends fail after they were queued, and the worker must not commit past
them: it restarts and sends again, so every expected (article, rule) pair ends up covered by an alert
(duplicates share their ``alert_id``).

The broker refuses every alert for a while: the alerts topic's ``max.message.bytes`` is set below an alert's
size, so each write is accepted by the client and rejected by the broker (MessageSizeTooLarge), and then
restored. Tried first and dropped, because the test then passed with and without the fix: pausing the whole
broker with SIGSTOP (only the table's changelog writes failed, never an alert's), and asking for 2 in-sync
replicas of a 1-replica topic (Kafka 4 takes the write anyway). Its own broker, so no other test sees it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newswatch.core.kafka import admin_client
from newswatch.core.settings import Settings
from newswatch.local.kafka import LocalKafka
from newswatch.local.processes import free_port
from newswatch.matcher import Matcher, load_rules
from tests.conftest import KAFKA_LIBS, make_topics
from tests.integration.article_stream import covered, expected_pairs, produce, real_articles
from tests.integration.helpers import collect, log_tail, service_env, start_worker, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    port = free_port()
    kafka = LocalKafka(home=tmp_path / "kafka", port=port, controller_port=free_port(), libs=KAFKA_LIBS)
    kafka.up(fresh=True)
    try:
        yield kafka
    finally:
        kafka.down()


def limit(bootstrap: str, topic: str, max_bytes: int) -> None:
    """Set ``max.message.bytes`` of ``topic``."""
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = admin_client(bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(max_bytes)})])
    finally:
        admin.close()


def test_a_broker_refusing_alerts_past_the_producer_timeout_loses_no_alert(
    own_kafka: LocalKafka, tmp_path: Path, shared_data: Path
) -> None:
    bootstrap = own_kafka.bootstrap
    topics = make_topics(bootstrap, "silent-broker")
    articles = real_articles(shared_data, 1500)
    matcher = Matcher(load_rules(Settings().rules_path))
    expected = expected_pairs(matcher, articles)
    env = service_env(
        bootstrap,
        topics,
        tmp_path,
        NEWSWATCH_WORKER_PRODUCER_TIMEOUT_SECONDS="4",
        NEWSWATCH_WORKER_SESSION_TIMEOUT_SECONDS="12",
    )
    logs = [tmp_path / "worker-1.log"]
    worker = start_worker(env, logs[0])
    alerts: list[dict[str, Any]] = []
    try:
        produce(bootstrap, topics.articles, articles[:300])
        collect(bootstrap, topics.alerts, until=lambda got: len(got) >= 10, timeout=180, watch=worker)
        limit(bootstrap, topics.alerts, 200)  # from now on the broker refuses every alert
        produce(bootstrap, topics.articles, articles[300:])
        time.sleep(15)
        limit(bootstrap, topics.alerts, 1_048_588)
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if worker.poll() is not None:  # it refused to commit past a failed send and stopped: start it again
                logs.append(tmp_path / f"worker-{len(logs) + 1}.log")
                worker = start_worker(env, logs[-1])
            alerts = collect(bootstrap, topics.alerts, until=lambda got: covered(got) >= expected, timeout=20)
            if covered(alerts) >= expected:
                break
    finally:
        stop(worker)
    missing = expected - covered(alerts)
    assert missing == set(), f"{len(missing)} pairs never alerted\n" + log_tail(*logs)
    by_id: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for alert in alerts:
        by_id.setdefault((alert["alert_id"], alert["revision"]), set()).add(
            (alert["rule"]["id"], alert["article"]["id"])
        )
    assert all(len(pairs) == 1 for pairs in by_id.values())  # a duplicate is the same alert again
