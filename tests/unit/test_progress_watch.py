"""The worker's progress watch: a partition fetched to its end but not read on is re-read, a busy one is not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP as FaustTP

from agents import lag
from streams.topics import matches_topic


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[object, int]] = []

    async def seek(self, tp: object, offset: int) -> None:
        self.seeks.append((tp, offset))


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> FakeConsumer:
    fake = FakeConsumer()
    monkeypatch.setattr(lag, "app", SimpleNamespace(consumer=fake))
    lag._suspect.clear()
    return fake


TP = FaustTP(matches_topic.get_topic_name(), 0)


def check(read: int | None, position: int, highwater: int) -> None:
    asyncio.run(lag._unstick(TP, read, position, highwater))


def test_fetched_to_the_end_but_not_read_for_two_checks_is_read_again_from_the_last_read(
    consumer: FakeConsumer,
) -> None:
    check(read=499, position=550, highwater=550)
    assert consumer.seeks == []  # once could be a message on its way to the agent
    check(read=499, position=550, highwater=550)
    assert consumer.seeks == [(TP, 499)]


def test_progress_between_checks_or_nothing_left_to_read_is_left_alone(consumer: FakeConsumer) -> None:
    check(read=499, position=550, highwater=550)
    check(read=520, position=550, highwater=550)  # moving on
    check(read=549, position=550, highwater=550)  # caught up
    check(read=549, position=550, highwater=550)
    check(read=None, position=550, highwater=550)  # nothing read yet since the assignment
    check(read=None, position=550, highwater=550)
    check(read=100, position=300, highwater=550)  # still fetching
    check(read=100, position=300, highwater=550)
    assert consumer.seeks == []


def test_the_worker_consumer_has_what_the_watch_reads() -> None:
    # The watch reads Faust's private record of the last offset handed to the agents: a Faust upgrade that renames
    # or drops it must fail here, not silently stop the lag metric and the stall guard.
    from streams.app import app

    consumer = app.consumer
    assert isinstance(consumer._read_offset, dict)
    for method in ("assignment", "position", "highwater", "seek"):
        assert callable(getattr(consumer, method))
