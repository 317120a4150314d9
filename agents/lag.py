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
alerted on by ``NewswatchStreamStalled``; after ``IDLE_RESEEK`` seconds it is resumed and sought to the next
offset to read, which costs at most a redelivery (at least once) and can only help.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from streams.app import app, metrics
from streams.topics import articles_topic, matches_topic

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0  # seconds
IDLE_WARN = 30.0  # seconds without reading from a partition that has messages waiting
IDLE_RESEEK = 60.0

# The partitions this worker exported a lag for: when a rebalance moves one to another worker, its series is
# removed here, so summing the metric over all workers never counts a partition twice.
_exported: set[tuple[str, str]] = set()
# tp -> the last read offset seen at the previous check while the partition looked stuck
_suspect: dict[object, int | None] = {}
# tp -> (next offset to read, when it last changed, whether a warning was logged): the idle watch
_progress: dict[object, tuple[int, float, bool]] = {}


async def _unstick(tp: object, read: int | None, position: int, highwater: int) -> None:
    """Seek ``tp`` back to its last read offset when it has looked stuck for two checks in a row."""
    # ``read`` is None before the first message: never act then (a fresh partition may simply be caught up)
    if read is None or not (read < highwater - 1 and position >= highwater):
        _suspect.pop(tp, None)
        return
    if _suspect.get(tp) == read:
        # From ``read`` itself, not the next one: Faust also stores the committed offset (the next to read) there,
        # so this may deliver one message twice (at least once, as after any restart) but never skips one.
        log.warning("partition %s: fetched up to %d but read only up to %d; re-reading from there", tp, position, read)
        metrics.stream_stalls.labels(tp.topic).inc()  # type: ignore[attr-defined]
        await app.consumer.seek(tp, max(read, 0))  # type: ignore[arg-type]
        _suspect.pop(tp, None)
    else:
        _suspect[tp] = read


async def _watch_idle(tp: Any, next_read: int, highwater: int, now: float) -> None:
    """Warn about, export and finally re-seek a partition that has messages waiting and is not being read."""
    last, since, warned = _progress.get(tp, (next_read, now, False))
    if next_read != last or next_read >= highwater:
        if warned:
            log.warning("partition %s: reading again (at offset %d)", tp, next_read)
        _progress[tp] = (next_read, now, False)
        metrics.stream_idle.labels(tp.topic, str(tp.partition)).set(0)
        return
    idle = now - since
    metrics.stream_idle.labels(tp.topic, str(tp.partition)).set(idle)
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
        log.warning("partition %s: still idle after %.0f s; resuming it and re-reading from %d", tp, idle, next_read)
        metrics.stream_stalls.labels(tp.topic).inc()
        app.consumer.resume_partitions([tp])
        await app.consumer.seek(tp, next_read)
        since = now  # give the re-read time to show before acting again
    _progress[tp] = (next_read, since, warned)


@app.timer(interval=CHECK_EVERY)
async def watch_progress() -> None:
    """Export lag = high watermark minus the next offset to read; re-read a partition stuck as described above."""
    consumer = app.consumer
    if app.rebalancing or app.in_recovery:
        return  # positions and read offsets are being reset: nothing to judge now
    streams = {articles_topic.get_topic_name(), matches_topic.get_topic_name()}
    current: set[tuple[str, str]] = set()
    now = time.monotonic()
    for tp in consumer.assignment():
        if tp.topic not in streams:
            continue
        position = await consumer.position(tp)
        if position is None:
            continue
        highwater = consumer.highwater(tp)
        read = consumer._read_offset.get(tp)  # Faust's own record of the last offset its agents were given
        if read is None:
            committed = consumer._committed_offset.get(tp)  # the next to read, after the recovery's seek
            read = None if committed is None else committed - 1
        await _unstick(tp, read, position, highwater)
        next_read = position if read is None else min(position, read + 1)
        await _watch_idle(tp, next_read, highwater, now)
        if tp.topic != articles_topic.get_topic_name():
            continue
        labels = (tp.topic, str(tp.partition))
        metrics.consumer_lag.labels(*labels).set(max(0, highwater - next_read))
        current.add(labels)
    for labels in _exported - current:
        metrics.consumer_lag.remove(*labels)
    _exported.clear()
    _exported.update(current)
