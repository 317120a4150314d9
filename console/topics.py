"""The partitions a console reads: known only once the broker's metadata has the topic."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition

from newswatch.core.kafka import KafkaUnavailable


def partitions(consumer: KafkaConsumer, topic: str, bootstrap: str, wait: float = 30.0) -> list[TopicPartition]:
    """Every partition of ``topic``; waits up to ``wait`` s for a topic just created to show in the metadata.

    Reading an empty list instead would leave a console that never shows an alert and never says why.
    """
    deadline = time.monotonic() + wait
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if time.monotonic() > deadline:
            raise KafkaUnavailable(bootstrap, f"topic {topic} has no partitions after {wait:.0f} s")
        time.sleep(0.2)
