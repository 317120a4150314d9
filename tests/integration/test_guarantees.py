"""Crash safety and processing guarantees, on the real broker with real worker processes."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from newswatch.core.settings import Settings
from newswatch.matcher import Matcher, load_rules
from tests.conftest import SAMPLES, Topics
from tests.integration.article_stream import (
    copies_not_updating_their_original,
    covered,
    expected_pairs,
    produce,
    real_articles,
    story_copies,
)
from tests.integration.helpers import collect, log_tail, produced, service_env, start_worker, stop
from tests.integration.test_pipeline import SEED_EVENTS, poll_once

pytestmark = pytest.mark.integration


def test_sigkill_mid_stream_loses_no_alert_and_restores_table_state(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, shared_data: Path
) -> None:
    articles = real_articles(shared_data, 2000)
    matcher = Matcher(load_rules(Settings().rules_path))
    assert sum(1 for a in articles if matcher.match(a)) > 100
    # Copies of early matching stories, at the end of the stream: after the restart they must be recognised as
    # stories already alerted, which only the table state restored from its changelog can tell.
    copies = story_copies(matcher, articles, 20)
    first, rest = articles[:1200], articles[1200:] + copies
    expected = expected_pairs(matcher, first + rest)
    produce(kafka_bootstrap, topics.articles, first)

    # A short session: the dead worker's partitions are reassigned after 12 s instead of Faust's 60.
    env = service_env(kafka_bootstrap, topics, tmp_path, NEWSWATCH_WORKER_SESSION_TIMEOUT_SECONDS="12")
    worker = start_worker(env, tmp_path / "worker-1.log")
    try:
        partial = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda got: len(got) >= len(expected_pairs(matcher, first)) // 3,
            timeout=180,
            watch=worker,
        )
        assert partial, (tmp_path / "worker-1.log").read_text()[-3000:]
    finally:
        stop(worker, signal.SIGKILL)
    # The rest arrives while no worker runs: the second one must take it all, on the first one's state.
    produce(kafka_bootstrap, topics.articles, rest)
    worker = start_worker(env, tmp_path / "worker-2.log")
    try:
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda got: covered(got) >= expected,
            timeout=240,
            settle=3,
            watch=worker,
        )
    finally:
        stop(worker)
    logs = log_tail(tmp_path / "worker-1.log", tmp_path / "worker-2.log")
    assert expected - covered(alerts) == set(), logs
    by_id: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for alert in alerts:
        by_id.setdefault((alert["alert_id"], alert["revision"]), []).append(alert)
    for dupes in by_id.values():  # a duplicate is the same alert again, never a different one under that id
        assert len({(d["rule"]["id"], d["article"]["id"]) for d in dupes}) == 1, dupes
    assert copies_not_updating_their_original(matcher, copies, alerts) == []
    # A backlog's matches travel between the agents in batches, one message per rule (agents/batch.py): the hop
    # that used to cost a Faust send and event per match (bench/RESULTS.md "Pipeline").
    assert produced(kafka_bootstrap, f"{topics.app_id}-matches") < len(expected) // 2


def test_exactly_once_processing_delivers_each_alert_once(kafka_bootstrap: str, topics: Topics, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n")
    poll_once(feeds, kafka_bootstrap, topics.articles)
    env = service_env(kafka_bootstrap, topics, tmp_path, NEWSWATCH_PROCESSING_GUARANTEE="exactly_once")
    worker = start_worker(env, tmp_path / "worker.log")
    committed: list[dict[str, Any]] = []

    def read_committed() -> None:
        consumer = KafkaConsumer(
            topics.alerts,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            consumer_timeout_ms=90_000,
        )
        for record in consumer:
            committed.append(json.loads(record.value))
            if len(committed) >= len(SEED_EVENTS):
                time.sleep(3)  # anything more would be a duplicate
                for more in consumer.poll(timeout_ms=1000).values():
                    committed.extend(json.loads(r.value) for r in more)
                break
        consumer.close()

    reader = threading.Thread(target=read_committed)
    reader.start()
    reader.join(120)
    stop(worker)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert {a["rule"]["id"] for a in committed} == SEED_EVENTS, log[-3000:]
    assert len(committed) == len(SEED_EVENTS)
    assert "exactly_once" in log or "transaction" in log.lower()
