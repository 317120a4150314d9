"""A timer, not an agent: export this worker's consumer lag on the articles topic, per partition."""

from __future__ import annotations

from streams.app import app, metrics
from streams.topics import articles_topic


@app.timer(interval=5.0)
async def export_consumer_lag() -> None:
    """Lag = the partition's high watermark minus this worker's position in it."""
    consumer = app.consumer
    for tp in consumer.assignment():
        if tp.topic != articles_topic.get_topic_name():
            continue
        position = await consumer.position(tp)
        if position is None:
            continue
        lag = max(0, consumer.highwater(tp) - position)
        metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
