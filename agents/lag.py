"""A timer, not an agent: export this worker's consumer lag on the articles topic, per partition."""

from __future__ import annotations

from streams.app import app, metrics
from streams.topics import articles_topic

# The partitions this worker exported a lag for: when a rebalance moves one to another worker, its series is
# removed here, so summing the metric over all workers never counts a partition twice.
_exported: set[tuple[str, str]] = set()


@app.timer(interval=5.0)
async def export_consumer_lag() -> None:
    """Lag = the partition's high watermark minus this worker's position in it."""
    consumer = app.consumer
    current: set[tuple[str, str]] = set()
    for tp in consumer.assignment():
        if tp.topic != articles_topic.get_topic_name():
            continue
        position = await consumer.position(tp)
        if position is None:
            continue
        lag = max(0, consumer.highwater(tp) - position)
        labels = (tp.topic, str(tp.partition))
        metrics.consumer_lag.labels(*labels).set(lag)
        current.add(labels)
    for labels in _exported - current:
        metrics.consumer_lag.remove(*labels)
    _exported.clear()
    _exported.update(current)
