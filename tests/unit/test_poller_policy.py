"""The poller's policies without a network: back-off, schedule, Retry-After, sharding, state records, metrics."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry

from newswatch.core.http import FetchResult, retry_after_seconds
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.schedule import MAX_BACKOFF, backoff, initial_delay, jittered, next_delay
from newswatch.poller.shard import Shard, shard_of
from newswatch.poller.state import FeedState, id_digest


def test_backoff_doubles_per_failure_and_stops_at_the_cap() -> None:
    assert [backoff(60, n) for n in range(5)] == [60, 120, 240, 480, 960]
    assert backoff(60, 50) == MAX_BACKOFF
    assert backoff(86_400, 3) == 86_400  # the cap never shortens a feed's own interval


def test_jitter_stays_within_ten_percent_and_spreads() -> None:
    rng = random.Random(1)
    delays = [jittered(300, rng) for _ in range(1000)]
    assert 270 <= min(delays) < 280 and 320 < max(delays) <= 330


def test_retry_after_wins_over_a_shorter_backoff_but_is_capped() -> None:
    rng = random.Random(2)
    assert next_delay(10, 1, retry_after=600, rng=rng) == 600
    assert next_delay(10, 1, retry_after=10**9, rng=rng) == 24 * 3600
    assert 18 <= next_delay(10, 1, retry_after=1, rng=rng) <= 22


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412400.0) == 80
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_first_polls_are_spread_over_the_first_minute() -> None:
    rng = random.Random(3)
    starts = [initial_delay(300, rng) for _ in range(1000)]
    assert 0 <= min(starts) < 1 and 59 < max(starts) <= 60


def test_fetch_outcome_labels() -> None:
    assert FetchResult(status=200).outcome == "200"
    assert FetchResult(status=404, error="http_status").outcome == "http_404"
    assert FetchResult(error="too_large").outcome == "too_large"


def test_shards_split_feeds_evenly_and_stably() -> None:
    ids = [f"feed-{i}" for i in range(3000)]
    counts = Counter(shard_of(i, 3) for i in ids)
    assert set(counts) == {0, 1, 2} and all(900 < n < 1100 for n in counts.values())
    assert shard_of("bbc-world", 4) == shard_of("bbc-world", 4) == 3  # same on every machine and run
    shards = [Shard.parse(f"{i}/3") for i in range(3)]
    assert all(sum(s.owns(i) for s in shards) == 1 for i in ids)  # every feed exactly once


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "0/0", "-1/2"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"0 <= i < n|write i/n"):
        Shard.parse(text)


def test_state_record_round_trips() -> None:
    state = FeedState(etag='"x"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", failures=2, last_error="timeout")
    state.remember(["https://a/1", "https://a/2"])
    state.next_poll, state.items, state.produced, state.last_success = 1e9, 20, 2, 9e8
    back = FeedState.from_json(state.to_json())
    assert back == state and back.has_seen("https://a/1") and not back.has_seen("https://a/3")


def test_state_record_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        FeedState.from_json(b'{"v": 99}')


def test_seen_ids_are_bounded_and_ids_still_listed_are_kept() -> None:
    state = FeedState()
    state.remember([f"old-{i}" for i in range(1000)], limit=1000)
    state.remember([f"new-{i}" for i in range(10)], limit=1000)
    assert len(state.seen) == 1000 and not state.has_seen("old-0") and state.has_seen("new-9")
    state.touch(["old-10"])  # listed again in the latest document
    state.remember([f"newer-{i}" for i in range(500)], limit=1000)
    assert state.has_seen("old-10") and not state.has_seen("old-11")
    # a feed listing 3,000 items keeps all of them, however small the limit
    state.remember([f"big-{i}" for i in range(3000)], current=3000, limit=1000)
    assert all(state.has_seen(f"big-{i}") for i in range(3000))


def test_state_record_stays_small_whatever_the_ids() -> None:
    state = FeedState()
    state.remember(["https://example.org/" + "x" * 100_000 + str(i) for i in range(1000)])
    assert len(state.to_json()) < 50_000 and len(id_digest("x" * 10**6)) == 32


def test_metrics_use_an_injected_registry_and_prometheus_names() -> None:
    registry = CollectorRegistry()
    metrics = PollerMetrics(registry)
    metrics.fetches.labels("f", "304").inc()
    metrics.fetch_duration.observe(0.2)
    PollerMetrics(CollectorRegistry())  # a second registry: no clash with the first
    names = {m.name for m in registry.collect()}
    assert all(n.startswith("newswatch_poller_") for n in names)
    assert registry.get_sample_value("newswatch_poller_fetches_total", {"feed": "f", "outcome": "304"}) == 1
    assert registry.get_sample_value("newswatch_poller_fetch_duration_seconds_count") == 1
