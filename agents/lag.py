"""A timer, not an agent: this worker's progress through its partitions. It exports the consumer lag on the
articles topic, per partition, un-sticks a partition whose fetched messages never reached the agent, and makes
a partition that has messages waiting but is not being read impossible to miss (log, metric, alert rule).

Why the second job: Faust's consumer (faust-streaming 0.15) skips, without a trace, the fetched records of a
partition it considers inactive at that moment (a recovery or a pressure pause in progress), while aiokafka's fetch
position has already moved past them; nothing fetches them again until the next rebalance. Seen once in CI
after a worker restart: the route agent stopped at the matches partition's 500th message (one poll) with 50 more
on the topic. A partition whose position is at the high watermark while its last read offset stays behind it for
two checks in a row is sought back to its last read offset, so those messages are delivered. Before the first
message after an assignment Faust's read offset is unknown; the committed offset (the next to read) stands in.

The third: whatever the cause, a partition with messages waiting from which nothing was read for ``IDLE_WARN``
seconds is logged as a warning (once, and again when it moves), shown in ``newswatch_stream_idle_seconds`` and
alerted on by ``NewswatchStreamIdle``; after ``IDLE_RESEEK`` seconds it is resumed and sought to the next
offset to read, which costs at most a redelivery (at least once) and can only help.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from newswatch.streams.metrics import WorkerMetrics
from newswatch.streams.worker import Worker

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0  # seconds
IDLE_WARN = 30.0  # seconds without reading from a partition that has messages waiting
IDLE_RESEEK = 60.0


class ProgressWatch:
    """The checks above for one worker's consumer; ``check()`` runs them once."""

    def __init__(self, app: Any, metrics: WorkerMetrics, articles: str, matches: str) -> None:
        self.app, self.metrics, self.articles, self.matches = app, metrics, articles, matches
        # The partitions this worker exported a lag for: when a rebalance moves one to another worker, its series
        # is removed here, so summing the metric over all workers never counts a partition twice.
        self.exported: set[tuple[str, str]] = set()
        # tp -> the last read offset seen at the previous check while the partition looked stuck
        self.suspect: dict[object, int | None] = {}
        # tp -> (next offset to read, when it last changed, whether a warning was logged): the idle watch
        self.progress: dict[object, tuple[int, float, bool]] = {}

    async def unstick(self, tp: Any, read: int | None, position: int, highwater: int) -> None:
        """Seek ``tp`` back to its last read offset when it has looked stuck for two checks in a row."""
        # ``read`` is None before the first message: never act then (a fresh partition may simply be caught up)
        if read is None or not (read < highwater - 1 and position >= highwater):
            self.suspect.pop(tp, None)
            return
        if self.suspect.get(tp) == read:
            # From ``read`` itself, not the next one: Faust also stores the committed offset (the next to read)
            # there, so this may deliver one message twice (at least once, as after any restart) but never skips.
            log.warning(
                "partition %s: fetched up to %d but read only up to %d; re-reading from there", tp, position, read
            )
            self.metrics.stream_stalls.labels(tp.topic).inc()
            await self.app.consumer.seek(tp, max(read, 0))
            self.suspect.pop(tp, None)
        else:
            self.suspect[tp] = read

    async def watch_idle(self, tp: Any, next_read: int, highwater: int, now: float) -> None:
        """Warn about, export and finally re-seek a partition that has messages waiting and is not being read."""
        last, since, warned = self.progress.get(tp, (next_read, now, False))
        idle_gauge = self.metrics.stream_idle.labels(tp.topic, str(tp.partition))
        if next_read != last or next_read >= highwater:
            if warned:
                log.warning("partition %s: reading again (at offset %d)", tp, next_read)
            self.progress[tp] = (next_read, now, False)
            idle_gauge.set(0)
            return
        idle = now - since
        idle_gauge.set(idle)
        if idle >= IDLE_WARN and not warned:
            log.warning(
                "partition %s: %d messages waiting, nothing read for %.0f s (next offset %d); see "
                "newswatch_stream_idle_seconds",
                tp,
                highwater - next_read,
                idle,
                next_read,
            )
            warned = True
        if idle >= IDLE_RESEEK:
            log.warning("partition %s: still idle after %.0f s; resuming it, re-reading from %d", tp, idle, next_read)
            self.metrics.stream_stalls.labels(tp.topic).inc()
            self.app.consumer.resume_partitions([tp])
            await self.app.consumer.seek(tp, next_read)
            since = now  # give the re-read time to show before acting again
        self.progress[tp] = (next_read, since, warned)

    async def check(self) -> None:
        """Export lag = high watermark minus the next offset to read; re-read a stuck or idle partition."""
        app, consumer = self.app, self.app.consumer
        if app.rebalancing or app.in_recovery:
            return  # positions and read offsets are being reset: nothing to judge now
        current: set[tuple[str, str]] = set()
        now = time.monotonic()
        for tp in consumer.assignment():
            if tp.topic not in (self.articles, self.matches):
                continue
            position = await consumer.position(tp)
            if position is None:
                continue
            highwater = consumer.highwater(tp)
            read = consumer._read_offset.get(tp)  # Faust's own record of the last offset its agents were given
            if read is None:
                committed = consumer._committed_offset.get(tp)  # the next to read, after the recovery's seek
                read = None if committed is None else committed - 1
            await self.unstick(tp, read, position, highwater)
            next_read = position if read is None else min(position, read + 1)
            await self.watch_idle(tp, next_read, highwater, now)
            if tp.topic != self.articles:
                continue
            labels = (tp.topic, str(tp.partition))
            self.metrics.consumer_lag.labels(*labels).set(max(0, highwater - next_read))
            current.add(labels)
        for labels in self.exported - current:
            self.metrics.consumer_lag.remove(*labels)
        self.exported = current


def register(worker: Worker) -> None:
    """Add the progress watch timer to ``worker.app``."""
    watch = ProgressWatch(
        worker.app,
        worker.metrics,
        worker.topics.articles.get_topic_name(),
        worker.topics.matches.get_topic_name(),
    )

    @worker.app.timer(interval=CHECK_EVERY, name="watch_progress")
    async def watch_progress() -> None:
        """Run the progress checks."""
        await watch.check()
