"""The pipeline bench's latency runs: one worker on fresh topics, articles sent at a fixed rate, and a reader
process noting when each alert arrives (bench/bench_pipeline.py ``--rates``).

The reader child process: ``python bench/pipeline_latency.py BOOTSTRAP TOPIC OUT``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaProducer  # noqa: E402

from bench.corpus import real_articles  # noqa: E402
from bench.pipeline_kafka import wait_quiet, worker_env  # noqa: E402
from bench.pyspy import spy as start_spy  # noqa: E402
from bench.workers import cpu_seconds, error_lines, rss_mb, start_workers, wait_ready  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def run_reader(bootstrap: str, topic: str, out: Path) -> None:
    """The child process that notes, per article id, when its first alert on ``topic`` arrived (until SIGTERM).

    aiokafka, whose record parsing is compiled: kafka-python's took a fifth of a core at 500 articles/s, taken from
    the worker it measures on these 2 cores."""
    asyncio.run(_read_alerts(bootstrap, topic, out))


async def _read_alerts(bootstrap: str, topic: str, out: Path) -> None:
    from aiokafka import AIOKafkaConsumer

    arrived: dict[str, list[float]] = {}
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    ready = out.with_suffix(".ready")
    try:
        while not stopping.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            if not ready.exists() and consumer.assignment():
                ready.write_text("1")
            now = time.time()
            for batch in batches.values():
                for record in batch:
                    article_id = json.loads(record.value)["article"]["id"]
                    arrived.setdefault(article_id, [now, record.timestamp / 1000])
    finally:
        await consumer.stop()
    out.write_text(json.dumps(arrived))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def latency(
    bootstrap: str,
    rate: int,
    seconds: float,
    partitions: int,
    work: Path,
    drain_limit: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """One worker on fresh topics, articles sent at ``rate``/s for ``seconds``; latency percentiles in ms.

    When the worker falls behind, the wait for its last alerts stops ``drain_limit`` s after the last send: the
    percentiles are then over the articles alerted by that time, so lower bounds (``drained`` False)."""
    tag = f"lat{rate}-{uuid.uuid4().hex[:6]}"
    topic, alerts = f"articles-{tag}", f"alerts-{tag}"
    ensure_topics(bootstrap, [topic, alerts], partitions=partitions)
    articles = real_articles(SHARED, int(rate * seconds))
    values = [(a["id"], a["id"].encode(), json.dumps(a).encode()) for a in articles]
    procs, logs = start_workers(1, worker_env(bootstrap, topic, alerts, tag, partitions, work), work, tag)
    reader_out = work / f"reader-{tag}.json"
    reader = subprocess.Popen(
        [sys.executable, __file__, bootstrap, alerts, str(reader_out)], cwd=ROOT, start_new_session=True
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}  # when the broker acknowledged the article: the producer's share of the latency
    try:
        wait_ready(logs)
        while not reader_out.with_suffix(".ready").exists():
            time.sleep(0.2)
        time.sleep(3)
        spy = start_spy(procs[0].pid, profile) if profile is not None else None
        cpu_start = cpu_seconds(procs[0].pid)
        start = time.monotonic()
        behind = 0.0
        for i, (article_id, key, value) in enumerate(values):
            due = start + i / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            else:
                behind = max(behind, now - due)
            sent[article_id] = time.time()
            producer.send(topic, key=key, value=value).add_callback(_acked, acked, article_id)
        producer.flush(120)
        produce_seconds = time.monotonic() - start
        cpu = (cpu_seconds(procs[0].pid) - cpu_start) / produce_seconds
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        # drained: the worker's group has nothing left on the articles topic and alerts stop growing
        drained, quiet = wait_quiet(bootstrap, alerts, quiet=5, limit=start + produce_seconds + drain_limit)
        drain_after = drained - (start + produce_seconds)
        run_errors = error_lines(logs)
        rss = rss_mb(procs[0].pid, "VmHWM")
    finally:
        producer.close()
        for proc in procs:
            stop(proc)
        stop(reader, timeout=30)
    arrived = json.loads(reader_out.read_text())
    ms = [(arrived[a][0] - t) * 1000 for a, t in sent.items() if a in arrived]
    ms_ts = [(arrived[a][1] - t) * 1000 for a, t in sent.items() if a in arrived]
    ms_ack = [(acked[a] - t) * 1000 for a, t in sent.items() if a in acked]
    t0 = min(sent.values())
    timeline = sorted((t - t0, (arrived[a][0] - t) * 1000) for a, t in sent.items() if a in arrived)
    (ROOT / ".cache" / f"latency-{tag}.json").write_text(json.dumps(timeline))
    return {
        "rate": rate,
        "sent": len(sent),
        "achieved": len(sent) / produce_seconds,
        "behind_s": behind,
        "alerted": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "p99_sent_ts": percentile(ms_ts, 99),
        "p99_acked": percentile(ms_ack, 99),
        "max_acked": max(ms_ack),
        "drain_after_s": max(0.0, drain_after),
        "drained": quiet,
        "rss_mb": rss,
        "cpu": cpu,
        "errors": run_errors,
    }


def _acked(acked: dict[str, float], article_id: str, _metadata: Any) -> None:
    acked[article_id] = time.time()


if __name__ == "__main__":
    run_reader(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
