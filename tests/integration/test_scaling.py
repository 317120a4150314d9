"""Scale-out on the real broker: workers joining and leaving one app id lose no alert and keep one per story;
two pollers and two workers give what one of each gives."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from newswatch.core.settings import Settings
from newswatch.matcher import Matcher, load_rules
from tests.conftest import ROOT, SAMPLES, make_topics
from tests.integration.article_stream import (
    SteadyProducer,
    conflicting_ids,
    copies_not_updating_their_original,
    covered,
    expected_pairs,
    real_articles,
    story_copies,
)
from tests.integration.helpers import AlertWatch, free_port, log_tail, service_env, start_worker, stop
from tests.integration.poller_helpers import state_topic, topic_messages

pytestmark = pytest.mark.integration

PARTITIONS = 8  # the deployment default: this is the test that runs newswatch as deployed


def assigned_articles_partitions(log: Path, topic: str) -> list[str]:
    """The articles-topic partition sets Faust logged as assigned to a worker, in order (e.g. ``{0-3}``)."""
    text = log.read_text(errors="replace")
    found = []  # Faust prints the assignment as a table after this line, ending with "for group"
    for block in text.split("Setting newly assigned partitions")[1:]:
        table = block.split("for group")[0]
        match = re.search(rf"\|\s*{re.escape(topic)}\s*\|\s*(\{{[^}}]*\}})", table)
        found.append(match.group(1) if match else "{}")
    return found


def wait_assigned(log: Path, topic: str, timeout: float) -> bool:
    """Wait until a worker's log shows it was given some partitions of ``topic``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(found != "{}" for found in assigned_articles_partitions(log, topic)):
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize(
    "count",
    [pytest.param(1000, id="1000-articles"), pytest.param(5000, id="5000-articles", marks=pytest.mark.slow)],
)
def test_a_worker_joining_and_another_leaving_lose_no_alert_and_keep_one_per_story(
    kafka_bootstrap: str, tmp_path: Path, shared_data: Path, request: pytest.FixtureRequest, count: int
) -> None:
    topics = make_topics(kafka_bootstrap, request.node.name, PARTITIONS)
    matcher = Matcher(load_rules(Settings().rules_path))
    articles = real_articles(shared_data, count)
    # Copies of early stories come last: whichever worker then owns their rule's partition must know, from the
    # route-state table restored from its changelog, that the story was already alerted (by worker A).
    copies = story_copies(matcher, articles, 20)
    stream = articles + copies
    expected = expected_pairs(matcher, stream)
    assert len(expected) > count // 20, "the rule pack should match a fair share of real articles"

    env = service_env(kafka_bootstrap, topics, tmp_path)
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"
    watch = AlertWatch(kafka_bootstrap, topics.alerts)
    # The whole stream takes ~40 s (1,000) to ~100 s (5,000) to arrive, well within what one worker keeps up
    # with, so each step below happens while articles keep coming.
    feed = SteadyProducer(kafka_bootstrap, topics.articles, stream, per_second=max(25.0, count / 100))
    worker_a = start_worker(env, log_a, "--web-port", str(free_port()))
    worker_b = None
    try:
        assert wait_assigned(log_a, topics.articles, timeout=60), log_tail(log_a)
        feed.start()
        assert feed.wait_sent(len(stream) * 3 // 10, timeout=120)
        # B joins the same app id (consumer group) mid-stream: the group rebalances and B takes half.
        worker_b = start_worker(env, log_b, "--web-port", str(free_port()))
        assert wait_assigned(log_b, topics.articles, timeout=60), log_tail(log_a, log_b)
        assert feed.wait_sent(len(stream) * 13 // 20, timeout=120)
        stop(worker_a)  # SIGTERM mid-stream: A hands its partitions back; B takes them over with their table state
        assert worker_a.returncode != -signal.SIGKILL, "worker A did not stop within 30 s of SIGTERM"
        feed.join(240)
        assert feed.error is None and feed.sent == len(stream), feed.error
        done = watch.wait(lambda got: covered(got) >= expected, timeout=240, watch=[worker_b])
        if done:  # anything sent twice around the handover arrives within moments
            watch.wait(lambda got: False, timeout=3)
    finally:
        for worker in (worker_a, worker_b):
            if worker is not None:
                stop(worker)
        watch.close()
    alerts = watch.alerts
    missing = expected - covered(alerts)
    assert missing == set(), f"{len(missing)} of {len(expected)} matches missing\n{log_tail(log_a, log_b)}"
    assert conflicting_ids(alerts) == {}
    assert copies_not_updating_their_original(matcher, copies, alerts) == []
    # The handover really happened: B shared the articles partitions with A, then held all eight.
    b_sets = assigned_articles_partitions(log_b, topics.articles)
    assert len(b_sets) >= 2 and b_sets[0] not in ("{}", f"{{0-{PARTITIONS - 1}}}"), b_sets
    assert b_sets[-1] == f"{{0-{PARTITIONS - 1}}}", b_sets


def feeds_file(tmp_path: Path, shared_data: Path) -> Path:
    """Every sample and shared real feed snapshot, each as its own feed (served from files)."""
    files = sorted({p.name: p for p in [*(shared_data / "feeds").iterdir(), *SAMPLES.iterdir()]}.values())
    lines = [f"  - {{id: {p.name.split('.')[0].replace('_', '-')}, url: {p}}}" for p in files if p.is_file()]
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n" + "\n".join(lines) + "\n")
    return path


def run_pipeline(
    bootstrap: str, tmp_path: Path, name: str, feeds: Path, pollers: int, workers: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``pollers`` sharded ``poll --once`` processes and ``workers`` workers on fresh topics: (articles, alerts)."""
    topics = make_topics(bootstrap, name, PARTITIONS)
    env = service_env(
        bootstrap,
        topics,
        tmp_path / name,
        NEWSWATCH_FEEDS_FILE=str(feeds),
        NEWSWATCH_FEED_STATE_TOPIC=state_topic(bootstrap),
    )
    logs = [tmp_path / f"{name}-worker-{i}.log" for i in range(workers)]
    procs = [start_worker(env, log, "--web-port", str(free_port())) for log in logs]
    watch = AlertWatch(bootstrap, topics.alerts)
    try:
        for log in logs:  # the last to join has its share once the group has settled
            assert wait_assigned(log, topics.articles, timeout=90), log_tail(*logs)
        polls = [
            subprocess.run(
                [sys.executable, "-m", "newswatch", "poll", "--once", "--shard", f"{i}/{pollers}"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            for i in range(pollers)
        ]
        assert all(p.returncode == 0 for p in polls), [p.stderr[-2000:] for p in polls]
        articles = topic_messages(bootstrap, topics.articles)
        expected = expected_pairs(Matcher(load_rules(Settings().rules_path)), articles)
        assert watch.wait(lambda got: covered(got) >= expected, timeout=180, watch=procs), log_tail(*logs)
        watch.wait(lambda got: False, timeout=3)  # nothing more should come
    finally:
        for proc in procs:
            stop(proc)
        watch.close()
    return articles, watch.alerts


def test_two_pollers_and_two_workers_give_the_same_alerts_as_one_of_each(
    kafka_bootstrap: str, tmp_path: Path, shared_data: Path
) -> None:
    feeds = feeds_file(tmp_path, shared_data)
    one_articles, one = run_pipeline(kafka_bootstrap, tmp_path, "one-of-each", feeds, pollers=1, workers=1)
    two_articles, two = run_pipeline(kafka_bootstrap, tmp_path, "two-of-each", feeds, pollers=2, workers=2)
    # The shards split the feeds without overlap or gap: the same articles, each produced once per feed.
    ids = lambda articles: sorted((a["feed_id"], a["id"]) for a in articles)  # noqa: E731
    assert ids(two_articles) == ids(one_articles) and len(one_articles) > 100
    assert covered(one) == covered(two) and len(covered(one)) > 10
    assert conflicting_ids(one) == {} and conflicting_ids(two) == {}
    stories = lambda alerts: {a["alert_id"] for a in alerts if a["kind"] == "alert"}  # noqa: E731
    assert stories(one) == stories(two)


def test_topics_command_creates_the_topics_with_the_given_layout(kafka_bootstrap: str, tmp_path: Path) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    suffix = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "NEWSWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "NEWSWATCH_ARTICLES_TOPIC": f"articles-layout-{suffix}",
        "NEWSWATCH_ALERTS_TOPIC": f"alerts-layout-{suffix}",
        "NEWSWATCH_DEAD_LETTER_TOPIC": "",
    }
    # One broker here, so one copy. min.insync.replicas 2 > 1 copy would refuse acks=all writes, but nothing is
    # written: the point is that the option reaches the topic (the cluster compose file passes 3 and 2).
    command = ["topics", "--partitions", "3", "--replication-factor", "1", "--min-insync-replicas", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", *command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        names = [env["NEWSWATCH_ARTICLES_TOPIC"], env["NEWSWATCH_ALERTS_TOPIC"]]
        described = admin.describe_topics(names)
        assert {t["name"]: len(t["partitions"]) for t in described} == dict.fromkeys(names, 3)
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, ["min.insync.replicas"]) for n in names]
        )
        assert {n: c["min.insync.replicas"]["value"] for n, c in configs["topic"].items()} == dict.fromkeys(names, "2")
        retention = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, ["retention.ms"]) for n in names]
        )["topic"]
        # alerts are kept 14 days for subscribers to replay; articles keep the broker's default (7 days)
        assert retention[names[1]]["retention.ms"]["value"] == str(14 * 24 * 3600 * 1000)
        assert "retention.ms" not in retention[names[0]]  # only overrides are reported: the broker's default
    finally:
        admin.delete_topics(names)
        admin.close()
