"""The feeds file is live: an edit is polled within seconds, a removed feed stops, an invalid edit changes nothing."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import newswatch.poller.run as poller_run
from newswatch.poller.config import FeedsConfig, load_feeds
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.reload import LiveFeeds
from newswatch.poller.run import Poller, PollerOptions
from tests.conftest import SAMPLES


class ListSink:
    """Takes every article at once, as an acknowledging broker would."""

    def __init__(self) -> None:
        self.articles: list[dict[str, Any]] = []

    async def send_all(self, articles: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        self.articles.extend(articles)
        return [a["id"] for a in articles], []

    async def send_state(self, topic: str, key: str, value: bytes) -> None:
        return None


def feeds_yaml(path: Path, *names: str) -> None:
    lines = ["feeds:"] + [f"  - {{id: {n}, url: {SAMPLES / n}.rss}}" for n in names]
    path.write_text("\n".join(lines) + "\n")


def feed_ids(sink: ListSink) -> set[str]:
    return {a["feed_id"] for a in sink.articles}


async def wait_for(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return False


def test_added_feeds_are_polled_within_seconds_removed_ones_stop_and_bad_edits_keep_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller_run, "RELOAD_EVERY", 0.1)
    for name in ("one", "two"):  # two feeds, each a copy of the seed story under its own guid
        text = (SAMPLES / "seed-story.rss").read_text().replace("newswatch-sample-seed", f"sample-{name}")
        (tmp_path / f"{name}.rss").write_text(text)
    monkeypatch.setattr("tests.unit.test_feeds_reload.SAMPLES", tmp_path)
    path = tmp_path / "feeds.yaml"
    feeds_yaml(path, "one")
    live = LiveFeeds(path)
    registry = CollectorRegistry()
    sink = ListSink()
    poll = Poller(load_feeds(path), sink, metrics=PollerMetrics(registry))  # type: ignore[arg-type]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(poll.run_forever(stop, live=live))
        try:
            assert await wait_for(lambda: feed_ids(sink) == {"one"}), "a handful of feeds is polled at start"
            time.sleep(0.01)  # a different mtime even on coarse file systems
            feeds_yaml(path, "one", "two")
            assert await wait_for(lambda: feed_ids(sink) == {"one", "two"}), "an added feed is polled at once"
            path.write_text("feeds:\n  - {id: one, url: [\n")
            assert await wait_for(lambda: registry.get_sample_value("newswatch_poller_feeds_reload_failing") == 1)
            assert [f.key for f in poll.feeds] == ["one", "two"]  # the last good list
            assert live.error and f"{path}:" in live.error  # file and line
            feeds_yaml(path, "two")
            assert await wait_for(lambda: [f.key for f in poll.feeds] == ["two"])
            assert registry.get_sample_value("newswatch_poller_feeds_reload_failing") == 0
        finally:
            stop.set()
            await task

    asyncio.run(scenario())
    assert registry.get_sample_value("newswatch_poller_feeds_reloads_total", {"outcome": "ok"}) == 2
    assert registry.get_sample_value("newswatch_poller_feeds_reloads_total", {"outcome": "error"}) == 1


def test_few_new_feeds_are_polled_at_once_many_are_spread() -> None:
    def config(count: int) -> FeedsConfig:
        return FeedsConfig.model_validate(
            {"feeds": [{"id": f"f{i}", "url": f"https://example.org/{i}"} for i in range(count)]}
        )

    options = PollerOptions(concurrency=20, start_spread=60)
    few = Poller(config(5), ListSink(), options=options, clock=lambda: 1000.0, rng=random.Random(1))  # type: ignore[arg-type]
    assert all(s.next_poll == 1000.0 for s in few.state.values())
    many = Poller(config(200), ListSink(), options=options, clock=lambda: 1000.0, rng=random.Random(1))  # type: ignore[arg-type]
    starts = [s.next_poll - 1000.0 for s in many.state.values()]
    assert 0 <= min(starts) < 2 and 55 < max(starts) <= 60


def test_every_per_feed_counter_is_exported_at_zero_before_the_first_poll() -> None:
    """A counter first scraped at 143 has no increase(): NewswatchNoArticlesIngested fired on every fresh start."""
    registry = CollectorRegistry()
    config = FeedsConfig.model_validate({"feeds": [{"id": "a", "url": "https://example.org/a"}]})
    Poller(config, ListSink(), metrics=PollerMetrics(registry))  # type: ignore[arg-type]
    assert registry.get_sample_value("newswatch_poller_articles_produced_total", {"feed": "a"}) == 0
    assert registry.get_sample_value("newswatch_poller_items_new_total", {"feed": "a"}) == 0
