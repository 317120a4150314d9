"""Rules in a running worker: hot reload, a rule's own topic, escalation, and invalid edits kept out."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.conftest import ROOT, Topics
from tests.integration.helpers import at_least, collect, free_port, service_env, start_worker, stop

pytestmark = pytest.mark.integration

ZEPPELIN = """events:
  - id: zeppelin_sighting
    title: Zeppelin sighting
    category: curiosities
    severity: low
    topic: {topic}
    escalate: {{count: 2, distinct_sources: 2, within: 1h, severity: critical}}
    match:
      any: [zeppelin*]
"""


def article(n: int, source: str, title: str) -> dict:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "schema_version": 1,
        "id": f"z-{n}",
        "title": title,
        "content": "",
        "url": f"https://{source}/{n}",
        "source": source,
        "feed_id": source,
        "feed_tags": {},
        "published": None,
        "fetched_at": now,
    }


def send(bootstrap: str, topic: str, *articles: dict) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for a in articles:
        producer.send(topic, key=a["id"].encode(), value=json.dumps(a).encode()).get(timeout=30)
    producer.close()


def metric(port: int, name: str) -> float | None:
    """The first sample of ``name`` the worker serves, or None (not yet exported, or the worker still starting)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            lines = response.read().decode().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_rule_edits_take_effect_live_route_to_their_topic_escalate_and_bad_edits_are_kept_out(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "config" / "rules", rules)
    rule_topic = f"{topics.alerts}.zeppelin"
    web_port = free_port()
    env = service_env(
        kafka_bootstrap, topics, tmp_path, NEWSWATCH_RULES_PATH=str(rules), NEWSWATCH_WORKER_WEB_PORT=str(web_port)
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: metric(web_port, "newswatch_rules_loaded") is not None, 60)
        send(kafka_bootstrap, topics.articles, article(1, "one.example", "Zeppelin seen over the Alps"))
        time.sleep(3)  # processed under the old rules: no alert

        new_rule = rules / "events" / "zeppelin.yaml"
        new_rule.write_text(ZEPPELIN.format(topic=rule_topic))
        assert wait_for(lambda: metric(web_port, 'newswatch_rules_reloads_total{outcome="ok"}') == 1.0)
        send(
            kafka_bootstrap,
            topics.articles,
            article(2, "two.example", "Second zeppelin over Geneva"),
            article(3, "three.example", "A zeppelin lands in a field near Bern"),
        )
        own = collect(kafka_bootstrap, rule_topic, until=at_least(3), timeout=60, watch=worker)

        new_rule.write_text(ZEPPELIN.format(topic=rule_topic) + "    bogus_key: 1\n")
        os.utime(new_rule)
        assert wait_for(lambda: metric(web_port, "newswatch_rules_reload_failing") == 1.0)
        send(kafka_bootstrap, topics.articles, article(4, "four.example", "Zeppelin festival opens in Friedrichshafen"))
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda got: "z-4" in {a["article"]["id"] for a in got},
            timeout=60,
            watch=worker,
        )
    finally:
        stop(worker)
    zeppelin = [a for a in alerts if a["rule"]["id"] == "zeppelin_sighting"]
    assert "z-1" not in {a["article"]["id"] for a in zeppelin}  # before the rule existed
    assert {a["article"]["id"] for a in zeppelin if a["kind"] == "alert"} == {"z-2", "z-3", "z-4"}
    escalations = [a for a in zeppelin if a["kind"] == "escalation"]
    assert len(escalations) == 1 and escalations[0]["rule"]["severity"] == "critical"
    assert escalations[0]["escalation"]["distinct_sources"] == 2
    assert sorted(a["kind"] for a in own) == ["alert", "alert", "escalation"]  # the rule's own topic gets them too
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "keeping the last good rules" in log and f"{new_rule}:" in log and "bogus_key" in log
