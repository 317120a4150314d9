"""Broker failover on a real three-node cluster: the broker leading ``articles`` partition 0 is SIGKILLed in the
middle of a stream of 5,000 real articles (poller -> worker -> alerts) and restarted later; afterwards every
expected (article, rule) pair is covered by an alert, duplicates share their ``alert_id``, and the poller lost no
article. Topics keep 3 copies and need 2 in sync, as in ``docker-compose.cluster.yml``.

The failover pause is measured and printed (``pytest -s``): the leader election, and how long the articles that
were in flight during the failover waited for their alert, next to the wait before the kill. The alerts topic
stamps each alert with the broker's append time, so an alert's wait is from the poller's send to its arrival.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaError

from newswatch.core.kafka import KafkaUnavailable, admin_client, ensure_topics
from newswatch.core.settings import Settings
from newswatch.local.cluster import LocalCluster
from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.processes import free_port
from newswatch.local.storypages import teaser_feed
from newswatch.matcher import Matcher, load_rules
from tests.conftest import KAFKA_LIBS, Topics
from tests.integration.article_stream import conflicting_ids, covered, expected_pairs, real_articles
from tests.integration.helpers import AlertWatch, log_tail, produced, service_env, start_poller, start_worker, stop
from tests.integration.poller_helpers import topic_records

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

ARTICLES = 5_000
FEEDS = 25
RELEASE_SECONDS = 80.0  # the feeds publish their items over this long: the stream is still running at the kill
WINDOW = 40  # items a feed shows at once, newest first, as real feeds do
PARTITIONS = 8


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    ports = tuple(free_port() for _ in range(3))
    controllers = tuple(free_port() for _ in range(3))
    local = LocalCluster(home=tmp_path / "cluster", ports=ports, controller_ports=controllers, libs=KAFKA_LIBS)
    local.up(fresh=True)
    try:
        yield local
    finally:
        local.down()


class ReleasingFeeds:
    """``FEEDS`` RSS feeds on one server that publish their share of the articles over ``RELEASE_SECONDS``."""

    def __init__(self, articles: list[dict[str, Any]]) -> None:
        self.per_feed = [articles[k::FEEDS] for k in range(FEEDS)]
        self.started = time.monotonic()
        self.server = FeedServer(dynamic=self.route)

    def route(self, path: str) -> Route | None:
        if not path.startswith("/feed-"):
            return None
        feed = self.per_feed[int(path.removeprefix("/feed-").removesuffix(".rss"))]
        released = min(len(feed), int(len(feed) * (time.monotonic() - self.started) / RELEASE_SECONDS))
        shown = feed[max(0, released - WINDOW) : released][::-1]
        items = [
            {"guid": a["id"], "title": a["title"], "link": a["url"], "description": a["content"][:4000]} for a in shown
        ]
        return Route(teaser_feed(items))


def leader(bootstrap: str, topic: str, partition: int) -> int:
    """The node id leading ``partition`` of ``topic`` now (-1 while none does, or while the client still asks the
    node that just died: kafka-python's admin client does not retry another node)."""
    try:
        admin = admin_client(bootstrap)
    except KafkaUnavailable:
        return -1
    try:
        (described,) = admin.describe_topics([topic])
        return next(p["leader_id"] for p in described["partitions"] if p["partition_index"] == partition)
    except KafkaError:
        return -1
    finally:
        admin.close()


def read_with_times(bootstrap: str, topic: str) -> list[tuple[int, dict[str, Any]]]:
    """Every message on ``topic`` now, with its record timestamp (ms)."""
    return [(r.timestamp, json.loads(r.value)) for r in topic_records(bootstrap, topic)]


def wait_for(condition: Any, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n" + log_tail(*logs)
        time.sleep(0.5)


def test_killing_the_leader_of_articles_mid_stream_loses_no_alert(
    cluster: LocalCluster, tmp_path: Path, shared_data: Path
) -> None:
    bootstrap = cluster.bootstrap
    topics = Topics("articles-failover", "alerts-failover", "newswatch-failover", PARTITIONS)
    safe = {"min.insync.replicas": "2"}
    ensure_topics(
        bootstrap,
        [topics.articles, topics.alerts],
        partitions=PARTITIONS,
        replication=3,
        configs={topics.articles: safe, topics.alerts: {**safe, "message.timestamp.type": "LogAppendTime"}},
    )
    feeds = ReleasingFeeds(real_articles(shared_data, ARTICLES))
    feeds_file = tmp_path / "feeds.yaml"  # written once the server has its port
    env = service_env(
        bootstrap,
        topics,
        tmp_path,
        NEWSWATCH_FEEDS_FILE=str(feeds_file),
        NEWSWATCH_FEED_STATE_TOPIC="feed-state-failover",
        NEWSWATCH_POLLER_METRICS_PORT=str(free_port()),
        NEWSWATCH_TOPIC_REPLICATION_FACTOR="3",
        NEWSWATCH_TOPIC_MIN_INSYNC_REPLICAS="2",
    )
    logs = [tmp_path / "worker.log", tmp_path / "poller.log"]
    with feeds.server as server:
        feeds_file.write_text(
            "feeds:\n"
            + "".join(f"  - {{id: f{k}, url: '{server.url(f'/feed-{k}.rss')}', interval: 1}}\n" for k in range(FEEDS))
        )
        worker = start_worker(env, logs[0])
        watch = AlertWatch(bootstrap, topics.alerts)
        feeds.started = time.monotonic()
        # the feed server is on loopback, which pollers refuse unless it is allowed
        poller = start_poller({**env, "NEWSWATCH_POLLER_PRIVATE_ALLOWED": f"127.0.0.1:{server.port}"}, logs[1])
        try:
            wait_for(lambda: produced(bootstrap, topics.articles) >= 2_000, 180, "2,000 articles", logs)
            victim = leader(bootstrap, topics.articles, 0)
            killed_at = time.time()
            cluster.node(victim).kill()
            wait_for(lambda: leader(bootstrap, topics.articles, 0) not in (victim, -1), 60, "a new leader", logs)
            elected = time.time() - killed_at
            time.sleep(max(0.0, 20 - elected))  # down for 20 s, then back on its kept data
            cluster.node(victim).up(timeout=120)
            restarted_at = time.time()
            wait_for(lambda: produced(bootstrap, topics.articles) >= ARTICLES, 240, "every article", logs)
            articles = read_with_times(bootstrap, topics.articles)
            expected = expected_pairs(Matcher(load_rules(Settings().rules_path)), [a for _, a in articles])
            watch.wait(lambda got: covered(got) >= expected, timeout=240, watch=[worker])
            alerts = list(zip(watch.timestamps, watch.alerts, strict=True))
            missing = expected - covered(watch.alerts)
            assert not missing, f"{len(missing)} of {len(expected)} pairs never alerted\n" + log_tail(*logs)
            assert worker.poll() is None and poller.poll() is None, "a process stopped\n" + log_tail(*logs)
        finally:
            watch.close()
            stop(poller)
            stop(worker)

    assert len({a["id"] for _, a in articles}) == ARTICLES  # the poller lost no article, and sent none twice
    assert conflicting_ids([a for _, a in alerts]) == {}  # a resent alert is the same alert

    # The failover pause, for the record (pytest -s prints it).
    sent = {a["id"]: ts / 1000 for ts, a in articles}
    first: dict[tuple[str, str], float] = {}
    for ts, alert in sorted(alerts, key=lambda pair: pair[0]):
        for source in alert["sources"]:
            first.setdefault((source["article_id"], alert["rule"]["id"]), ts / 1000)
    waits = [(sent[article], first[(article, rule)] - sent[article]) for article, rule in expected]
    before = [w for at, w in waits if at < killed_at - 5]
    during = [w for at, w in waits if killed_at - 5 <= at <= restarted_at]
    print(
        f"\nfailover: node {victim} killed; new leader of {topics.articles}-0 after {elected:.1f} s; "
        f"{len(expected)} pairs alerted; wait for an alert before the kill p50 {statistics.median(before):.2f} s, "
        f"max {max(before):.2f} s; articles sent from 5 s before the kill to the restart: "
        f"p50 {statistics.median(during):.2f} s, max {max(during):.2f} s"
    )
