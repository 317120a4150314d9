"""A timer, not an agent: this worker's progress through its partitions. It exports the consumer lag on the
articles topic, per partition, and un-sticks a partition whose fetched messages never reached the agent.

Why the second job: Faust's consumer (faust-streaming 0.15) skips, without a trace, the fetched records of a
partition it considers inactive at that moment (a recovery or a pressure pause in progress), while aiokafka's fetch
position has already moved past them; nothing fetches them again until the next rebalance. Seen once in CI
after a worker restart: the route agent stopped at the matches partition's 500th message (one poll) with 50 more
on the topic. A partition whose position is at the high watermark while its last read offset stays behind it for
two checks in a row is sought back to its last read offset, so those messages are delivered.
"""

from __future__ import annotations

import logging

from streams.app import app, metrics
from streams.topics import articles_topic, matches_topic

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0  # seconds

# The partitions this worker exported a lag for: when a rebalance moves one to another worker, its series is
# removed here, so summing the metric over all workers never counts a partition twice.
_exported: set[tuple[str, str]] = set()
# tp -> the last read offset seen at the previous check while the partition looked stuck
_suspect: dict[object, int | None] = {}


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
        await app.consumer.seek(tp, read)  # type: ignore[arg-type]
        _suspect.pop(tp, None)
    else:
        _suspect[tp] = read


@app.timer(interval=CHECK_EVERY)
async def watch_progress() -> None:
    """Export lag = high watermark minus the next offset to read; re-read a partition stuck as described above."""
    consumer = app.consumer
    streams = {articles_topic.get_topic_name(), matches_topic.get_topic_name()}
    current: set[tuple[str, str]] = set()
    for tp in consumer.assignment():
        if tp.topic not in streams:
            continue
        position = await consumer.position(tp)
        if position is None:
            continue
        highwater = consumer.highwater(tp)
        read = consumer._read_offset.get(tp)  # Faust's own record of the last offset its agents were given
        await _unstick(tp, read, position, highwater)
        if tp.topic != articles_topic.get_topic_name():
            continue
        next_read = position if read is None else min(position, read + 1)
        labels = (tp.topic, str(tp.partition))
        metrics.consumer_lag.labels(*labels).set(max(0, highwater - next_read))
        current.add(labels)
    for labels in _exported - current:
        metrics.consumer_lag.remove(*labels)
    _exported.clear()
    _exported.update(current)
