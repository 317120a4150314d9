"""What subscribers rely on, against the real broker: schema, headers, one story one alert, bad input, kcat."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import jsonschema
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from newswatch.core.kafka import ensure_topics
from newswatch.poller.config import load_feeds
from newswatch.poller.produce import ArticleSink, make_producer
from newswatch.poller.run import Poller
from tests.conftest import ROOT, SAMPLES, Topics
from tests.integration.helpers import at_least, collect, free_port, service_env, start_worker, stop
from tests.integration.test_pipeline import SEED_EVENTS, poll_once

pytestmark = pytest.mark.integration

SCHEMA = json.loads((ROOT / "config" / "schemas" / "alert.v1.json").read_text())


def seed_copy(tmp_path: Path) -> Path:
    """The seed story as another outlet syndicates it: its own guid, link and feed."""
    text = (SAMPLES / "seed-story.rss").read_text(encoding="utf-8")
    text = text.replace("newswatch-sample-seed-2025-04-09", "https://other.example/2025/04/09/chinese-fighters")
    text = text.replace("<title>newswatch sample: seed story</title>", "<title>Other Outlet</title>")
    path = tmp_path / "copy.rss"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_story_in_two_feeds_gives_one_alert_per_rule_then_updates(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n  - {{id: copy, url: {seed_copy(tmp_path)}}}\n"
    )
    assert poll_once(feeds, kafka_bootstrap, topics.articles) == 2
    worker = start_worker(service_env(kafka_bootstrap, topics, tmp_path), tmp_path / "worker.log")
    try:
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=at_least(2 * len(SEED_EVENTS)),
            timeout=120,
            settle=3,
            watch=worker,
        )
    finally:
        stop(worker)
    firsts = [a for a in alerts if a["kind"] == "alert"]
    updates = [a for a in alerts if a["kind"] == "update"]
    assert {a["rule"]["id"] for a in firsts} == SEED_EVENTS and len(firsts) == len(SEED_EVENTS)
    assert len(updates) == len(SEED_EVENTS)
    assert {a["alert_id"] for a in updates} == {a["alert_id"] for a in firsts}
    assert all(len(a["sources"]) == 2 and a["revision"] == 1 for a in updates)
    for alert in alerts:
        jsonschema.validate(alert, SCHEMA)

    # Headers let a consumer filter without parsing; kcat proves the README recipe.
    consumer = KafkaConsumer(
        topics.alerts, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    record = next(iter(consumer))
    consumer.close()
    headers = dict(record.headers)
    assert headers["content-type"] == b"application/json" and headers["schema-version"] == b"1"
    assert headers["rule-id"] == record.key and headers["severity"] in {b"high", b"medium"}

    kcat = shutil.which("kcat")
    assert kcat, "kcat is missing: `make install` installs it (scripts/install-system-deps)"
    done = subprocess.run(
        [kcat, "-b", kafka_bootstrap, "-t", topics.alerts, "-C", "-o", "beginning", "-e", "-q", "-f", "%k\t%h\t%s\n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t", 2) for line in done.stdout.splitlines() if line]
    assert len(lines) == len(alerts)
    assert all(json.loads(value)["rule"]["id"] == key for key, _, value in lines)


def test_the_same_item_in_a_main_and_a_section_feed_is_one_alert_and_one_update(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Same guid URL in two feeds, so the same article id: the second feed's copy adds its source, no resend."""
    item = (SAMPLES / "seed-story.rss").read_text(encoding="utf-8")
    item = item.replace("newswatch-sample-seed-2025-04-09", "https://news.example/2025/04/09/chinese-fighters")
    for name in ("main", "section"):
        (tmp_path / f"{name}.rss").write_text(item, encoding="utf-8")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - {{id: {n}, url: {tmp_path / n}.rss}}\n" for n in ("main", "section")))
    sink = ArticleSink(make_producer(kafka_bootstrap), topics.articles)
    poller = Poller(load_feeds(feeds), sink)
    worker = start_worker(service_env(kafka_bootstrap, topics, tmp_path), tmp_path / "worker.log")
    try:
        assert sum(o.new for o in asyncio.run(poller.poll_once())) == 2
        alerts = collect(
            kafka_bootstrap, topics.alerts, until=at_least(2 * len(SEED_EVENTS)), timeout=120, settle=3, watch=worker
        )
        assert sum(o.new for o in asyncio.run(poller.poll_once())) == 0  # both polled again: nothing new
        again = collect(kafka_bootstrap, topics.alerts, until=at_least(len(alerts)), timeout=30, settle=5, watch=worker)
    finally:
        sink.close()
        stop(worker)
    log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    for rule in SEED_EVENTS:
        mine = [a for a in alerts if a["rule"]["id"] == rule]
        assert [(a["kind"], a["revision"]) for a in mine] == [("alert", 0), ("update", 1)], (mine, log)
        assert len({a["alert_id"] for a in mine}) == 1
        assert [s["feed_id"] for s in mine[1]["sources"]] == [
            mine[0]["article"]["feed_id"],
            mine[1]["article"]["feed_id"],
        ]
        assert {s["feed_id"] for s in mine[1]["sources"]} == {"main", "section"}
    assert len(again) == len(alerts)


def test_malformed_messages_are_skipped_counted_and_dead_lettered(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    dead = f"{topics.articles}.dead-letter"
    ensure_topics(kafka_bootstrap, [dead])
    # The topic accepts 8 MB so that an oversized message reaches the worker, as a misconfigured producer's would.
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topics.articles, {"max.message.bytes": "8388608"})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=8 * 1024 * 1024)
    bad = [
        b"this is not json",
        json.dumps({"title": "no id"}).encode(),
        json.dumps({"id": "x", "title": "huge", "content": "word " * 1_100_000}).encode(),
        json.dumps({"id": "y", "title": ["not", "a", "string"]}).encode(),
    ]
    for value in bad:
        producer.send(topics.articles, key=b"bad", value=value).get(timeout=30)
    producer.close()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n")
    poll_once(feeds, kafka_bootstrap, topics.articles)

    web_port = free_port()
    env = service_env(
        kafka_bootstrap, topics, tmp_path, NEWSWATCH_DEAD_LETTER_TOPIC=dead, NEWSWATCH_WORKER_WEB_PORT=str(web_port)
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        alerts = collect(kafka_bootstrap, topics.alerts, until=at_least(len(SEED_EVENTS)), timeout=120, watch=worker)
        assert {a["rule"]["id"] for a in alerts} == SEED_EVENTS  # the bad messages did not stop the stream
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as response:
            exposition = response.read().decode()
    finally:
        stop(worker)
    for reason in ("not_json", "no_id", "too_large", "bad_field"):
        assert f'newswatch_classifier_dead_letters_total{{reason="{reason}"}} 1.0' in exposition
    consumer = KafkaConsumer(
        dead, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    dead_letters = [(dict(r.headers)["newswatch-error"], r.value) for r in consumer]
    consumer.close()
    assert sorted(reason for reason, _ in dead_letters) == [b"bad_field", b"no_id", b"not_json", b"too_large"]
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "skipped message at" in log and "Traceback" not in log
