"""The worker's progress watch: a partition fetched to its end but not read on is re-read, a busy one is not, and
one with messages waiting that nobody reads is reported, then re-sought."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP as FaustTP
from prometheus_client import CollectorRegistry

from newswatch.agents.lag import IDLE_RESEEK, IDLE_WARN, ProgressWatch
from newswatch.core.settings import Settings
from newswatch.streams.app import make_app
from newswatch.streams.metrics import WorkerMetrics

TP = FaustTP("newswatch-matches", 0)


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[object, int]] = []
        self.resumed: list[object] = []

    async def seek(self, tp: object, offset: int) -> None:
        self.seeks.append((tp, offset))

    def resume_partitions(self, tps: list[object]) -> None:
        self.resumed.extend(tps)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def watch(registry: CollectorRegistry) -> ProgressWatch:
    app = SimpleNamespace(consumer=FakeConsumer())
    return ProgressWatch(app, WorkerMetrics(registry), "articles", "newswatch-matches")


def check(watch: ProgressWatch, read: int | None, position: int, highwater: int) -> None:
    asyncio.run(watch.unstick(TP, read, position, highwater))


def test_fetched_to_the_end_but_not_read_for_two_checks_is_read_again_from_the_last_read(
    watch: ProgressWatch,
) -> None:
    check(watch, read=499, position=550, highwater=550)
    assert watch.app.consumer.seeks == []  # once could be a message on its way to the agent
    check(watch, read=499, position=550, highwater=550)
    assert watch.app.consumer.seeks == [(TP, 499)]


def test_progress_between_checks_or_nothing_left_to_read_is_left_alone(watch: ProgressWatch) -> None:
    check(watch, read=499, position=550, highwater=550)
    check(watch, read=520, position=550, highwater=550)  # moving on
    check(watch, read=549, position=550, highwater=550)  # caught up
    check(watch, read=549, position=550, highwater=550)
    check(watch, read=None, position=550, highwater=550)  # nothing read yet since the assignment
    check(watch, read=None, position=550, highwater=550)
    check(watch, read=100, position=300, highwater=550)  # still fetching
    check(watch, read=100, position=300, highwater=550)
    assert watch.app.consumer.seeks == []


def test_a_partition_with_messages_waiting_and_nothing_read_is_reported_then_resought(
    watch: ProgressWatch, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    idle = {"topic": "newswatch-matches", "partition": "0"}
    for now in (0.0, IDLE_WARN - 1):
        asyncio.run(watch.watch_idle(TP, 100, 150, now))
    assert "nothing read" not in caplog.text and watch.app.consumer.seeks == []
    asyncio.run(watch.watch_idle(TP, 100, 150, IDLE_WARN))
    assert "50 messages waiting, nothing read for 30 s" in caplog.text
    assert registry.get_sample_value("newswatch_stream_idle_seconds", idle) == IDLE_WARN
    asyncio.run(watch.watch_idle(TP, 100, 150, IDLE_RESEEK))
    assert watch.app.consumer.seeks == [(TP, 100)] and watch.app.consumer.resumed == [TP]
    asyncio.run(watch.watch_idle(TP, 101, 150, IDLE_RESEEK + 5))  # reading again
    assert registry.get_sample_value("newswatch_stream_idle_seconds", idle) == 0
    asyncio.run(watch.watch_idle(TP, 150, 150, IDLE_RESEEK + 100))  # caught up: never idle
    assert registry.get_sample_value("newswatch_stream_idle_seconds", idle) == 0


def test_the_worker_consumer_has_what_the_watch_reads() -> None:
    # The watch reads Faust's private record of the last offset handed to the agents: a Faust upgrade that renames
    # or drops it must fail here, not silently stop the lag metric and the stall guard.
    registry = CollectorRegistry()
    app = make_app(Settings(), WorkerMetrics(registry), registry)
    consumer = app.consumer
    assert isinstance(consumer._read_offset, dict) and isinstance(consumer._committed_offset, dict)
    for method in ("assignment", "position", "highwater", "seek", "resume_partitions"):
        assert callable(getattr(consumer, method))
    assert app.contiguous_topics == {"articles", "newswatch-matches"}
