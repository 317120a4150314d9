"""Poison messages on the worker's input topics, against the real broker (issue 17, item 3).

Before: JSON nested 100,000 deep raised RecursionError in the classify agent, a lone surrogate in a title raised
UnicodeEncodeError in the matcher's RE2 scan, and one bad message on the matches topic raised in the route agent;
each stopped its agent, so no article after it was ever alerted. An oversized message was never copied anywhere.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from newswatch.core.kafka import ensure_topics
from newswatch.streams.deadletter import MAX_COPY_BYTES
from tests.conftest import SAMPLES, Topics
from tests.integration.helpers import collect, free_port, log_tail, service_env, start_worker, stop
from tests.integration.test_pipeline import SEED_EVENTS, poll_once

pytestmark = pytest.mark.integration

SURROGATE_ARTICLE = (
    b'{"id": "https://news.example/surrogate", "title": "Drone strike \\ud800 hits Kyiv", "source": "Bad \\udfff",'
    b' "content": "A Russian drone attack on Kyiv killed two overnight, officials said."}'
)


def test_poison_messages_are_dead_lettered_and_the_next_article_still_alerts(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    dead = f"{topics.articles}.dead-letter"
    matches = f"{topics.app_id}-matches"
    ensure_topics(kafka_bootstrap, [dead, matches], partitions=topics.partitions)
    # The topic accepts 8 MB so that an oversized message reaches the worker, as a misconfigured producer's would.
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topics.articles, {"max.message.bytes": "8388608"})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=8 * 1024 * 1024)
    poison = [
        b'{"id": "nested", "title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        SURROGATE_ARTICLE,
        json.dumps({"id": "huge", "title": "huge", "content": "drone strike " * 150_000}).encode(),
        b"not json \xff\xfe",
    ]
    for value in poison:
        producer.send(topics.articles, key=b"bad", value=value).get(timeout=30)
    for value in (b"[" * 100_000, b'{"alert": "not an object", "story": {}}'):
        producer.send(matches, key=b"drone_attack", value=value).get(timeout=30)
    producer.close()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n")
    assert poll_once(feeds, kafka_bootstrap, topics.articles) == 1  # the good article, after the bad ones

    web_port = free_port()
    env = service_env(
        kafka_bootstrap, topics, tmp_path, NEWSWATCH_DEAD_LETTER_TOPIC=dead, NEWSWATCH_WORKER_WEB_PORT=str(web_port)
    )
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda got: (
                {a["rule"]["id"] for a in got if a["article"]["id"].endswith("seed-2025-04-09")} >= SEED_EVENTS
                and any(a["article"]["id"] == "https://news.example/surrogate" for a in got)
            ),
            timeout=120,
            settle=3,
            watch=worker,
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as response:
            exposition = response.read().decode()
    finally:
        stop(worker)
    seed = {a["rule"]["id"] for a in alerts if a["article"]["id"].endswith("seed-2025-04-09")}
    assert seed == SEED_EVENTS, log_tail(log)
    [cleaned] = [a for a in alerts if a["article"]["id"] == "https://news.example/surrogate"]
    assert cleaned["rule"]["id"] == "drone_attack"
    assert (
        cleaned["article"]["title"] == "Drone strike \ufffd hits Kyiv" and cleaned["article"]["source"] == "Bad \ufffd"
    )

    consumer = KafkaConsumer(
        dead, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    copies = [(dict(r.headers), r.value) for r in consumer]
    consumer.close()
    reasons = sorted(headers["newswatch-error"].decode() for headers, _ in copies)
    assert reasons == ["bad_match", "bad_match", "not_json", "too_deep", "too_large"]
    [(headers, value)] = [(h, v) for h, v in copies if h["newswatch-error"] == b"too_large"]
    assert len(value) == MAX_COPY_BYTES and headers["newswatch-truncated"] == b"true"
    assert int(headers["newswatch-bytes"]) == len(poison[2]) and headers["newswatch-topic"] == topics.articles.encode()
    for reason in ("not_json", "too_deep", "too_large"):  # counted once each, after the copy was acknowledged
        assert f'newswatch_classifier_dead_letters_total{{reason="{reason}"}} 1.0' in exposition
    assert 'newswatch_classifier_dead_letters_total{reason="bad_match"} 2.0' in exposition
    text = log.read_text(errors="replace")
    assert text.count("skipped message at") == 5 and "Traceback" not in text, log_tail(log)
