"""The pipeline bench's Kafka helpers: a broker to run against, pre-filling a topic, reading one back, and waiting
for the alerts of a worker run (bench/bench_pipeline.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"


def ensure_broker(bootstrap: str) -> Any:
    """The broker at ``bootstrap``; a local one started under .cache/ when nothing answers there (returned, to stop)."""
    from newswatch.local.kafka import LocalKafka, answers

    if answers(bootstrap):
        return None
    host, _, port = bootstrap.rpartition(":")
    kafka = LocalKafka(
        home=ROOT / ".cache" / f"kafka-bench-{port}",
        host=host,
        port=int(port),
        controller_port=int(port) + 1,
        libs=KAFKA_LIBS,
    )
    kafka.up(fresh=True)
    return kafka


def produce(bootstrap: str, topic: str, articles: list[dict[str, Any]]) -> float:
    """Send ``articles`` as fast as one producer goes (acks=all); seconds until the last acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    start = time.monotonic()
    for article in articles:
        producer.send(topic, key=article["id"].encode(), value=json.dumps(article).encode())
    producer.flush(300)
    producer.close()
    return time.monotonic() - start


def end_total(consumer: KafkaConsumer, topic: str) -> int:
    """Messages in ``topic`` (sum of its partitions' end offsets; every topic here starts at offset 0)."""
    parts = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in parts]
    return sum(consumer.end_offsets(tps).values()) if tps else 0


def read_all(bootstrap: str, topic: str, timeout: float = 120) -> list[Any]:
    """Every record of ``topic`` as it is now, partition by partition in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = consumer.end_offsets(tps)
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records: dict[TopicPartition, list[Any]] = {tp: [] for tp in tps}
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        for tp, batch in consumer.poll(timeout_ms=1000, max_records=5000).items():
            records[tp].extend(r for r in batch if r.offset < ends[tp])
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not read {topic} in {timeout:.0f} s")
    consumer.close()
    return [r for tp in tps for r in records[tp]]


def first_timestamp(bootstrap: str, topic: str) -> float:
    """The earliest record timestamp (seconds) among the first record of each partition of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = consumer.end_offsets(tps)
    tps = [tp for tp in tps if ends[tp] > 0]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    first: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + 60
    while len(first) < len(tps) and time.monotonic() < deadline:
        for tp, batch in consumer.poll(timeout_ms=1000, max_records=100).items():
            if batch and tp not in first:
                first[tp] = batch[0].timestamp
                consumer.pause(tp)
    consumer.close()
    return min(first.values()) / 1000


def worker_env(bootstrap: str, articles: str, alerts: str, app_id: str, partitions: int, work: Path) -> dict[str, str]:
    return {
        "NEWSWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "NEWSWATCH_ARTICLES_TOPIC": articles,
        "NEWSWATCH_ALERTS_TOPIC": alerts,
        "NEWSWATCH_APP_ID": app_id,
        "NEWSWATCH_DATA_DIR": str(work / app_id),
        "NEWSWATCH_TOPIC_PARTITIONS": str(partitions),
    }


def wait_alerts(bootstrap: str, alerts: str, expected: int, procs: list[subprocess.Popen], quiet: float = 20) -> int:
    """Until ``alerts`` holds ``expected`` messages (or stops growing for ``quiet`` s); the count then."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    last, changed = -1, time.monotonic()
    try:
        while True:
            total = end_total(consumer, alerts)
            if total >= expected:
                return total
            if total != last:
                last, changed = total, time.monotonic()
            elif time.monotonic() - changed > quiet:
                print(f"  alerts stopped at {total} of {expected} expected", file=sys.stderr, flush=True)
                return total
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited")
            time.sleep(0.25)
    finally:
        consumer.close()


def wait_quiet(bootstrap: str, topic: str, quiet: float, limit: float) -> tuple[float, bool]:
    """Until ``topic`` stops growing for ``quiet`` seconds, or monotonic time ``limit``: the time of its last growth,
    and whether it went quiet."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    last, changed = end_total(consumer, topic), time.monotonic()
    while time.monotonic() - changed < quiet and time.monotonic() < limit:
        time.sleep(0.25)
        total = end_total(consumer, topic)
        if total != last:
            last, changed = total, time.monotonic()
    consumer.close()
    return changed, time.monotonic() - changed >= quiet
