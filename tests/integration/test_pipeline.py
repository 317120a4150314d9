"""The walking skeleton end to end on the real broker: feed -> poller -> articles -> Faust agent -> alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from newswatch.poller.config import load_feeds
from newswatch.poller.produce import ArticleSink, make_producer
from newswatch.poller.run import Poller
from tests.conftest import SAMPLES, Topics
from tests.integration.helpers import collect, service_env, start_worker, stop

pytestmark = pytest.mark.integration

# the seed story also reports an offer to exchange prisoners of war, which the shipped pack detects too
SEED_EVENTS = {"foreign_fighters", "mercenaries", "drone_attack", "ceasefire_talks", "prisoner_exchange"}
SEED_TITLE = "Ukraine Claims Over 150 Chinese Mercenaries Fighting for Russia"


def poll_once(feeds_yaml: Path, bootstrap: str, topic: str) -> int:
    sink = ArticleSink(make_producer(bootstrap), topic)
    try:
        outcomes = asyncio.run(Poller(load_feeds(feeds_yaml), sink).poll_once())
    finally:
        sink.close()
    assert all(o.error is None for o in outcomes), outcomes
    return sum(o.new for o in outcomes)


def test_seed_story_raises_its_three_alerts_and_a_pre_war_feed_none(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, shared_data: Path
) -> None:
    baseline = shared_data / "feeds" / "bbc_home__2021-10-18__gesab001-headlines.xml"
    feeds_yaml = tmp_path / "feeds.yaml"
    feeds_yaml.write_text(
        f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}}}\n  - {{id: baseline, url: {baseline}}}\n"
    )
    produced = poll_once(feeds_yaml, kafka_bootstrap, topics.articles)
    assert produced == 1 + 69  # the seed item and every item of the baseline feed

    worker = start_worker(service_env(kafka_bootstrap, topics, tmp_path), tmp_path / "worker.log")
    try:
        seed_rules = lambda alerts: {a["rule"]["id"] for a in alerts if a["article"]["feed_id"] == "seed"}  # noqa: E731
        # settle: give the worker time to work through the 69 baseline articles after the seed alerts
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda got: seed_rules(got) == SEED_EVENTS,
            timeout=120,
            settle=5,
            watch=worker,
        )
    finally:
        stop(worker)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert seed_rules(alerts) == SEED_EVENTS, f"alerts: {alerts}\nworker log tail:\n{log[-3000:]}"
    seed = [a for a in alerts if a["article"]["feed_id"] == "seed"]
    assert len(seed) == len(SEED_EVENTS) and all(a["article"]["title"] == SEED_TITLE for a in seed)
    assert [a for a in alerts if a["article"]["feed_id"] == "baseline"] == []
    drone = next(a for a in seed if a["rule"]["id"] == "drone_attack")
    assert any("Kramatorsk" in m["snippet"] for m in drone["matches"])
