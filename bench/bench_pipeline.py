"""Pipeline benchmark: the worker's throughput against Faust's floors measured in the same run, and its latency.

    .venv/bin/python bench/bench_pipeline.py [--articles 20000] [--partitions 8] [--repeat 2]
        [--rates 100,500,1000,1500] [--latency-seconds 30] [--profile] [--bootstrap 127.0.0.1:39092]

It is a benchmark that prints its figures, not a test. Everything runs on this machine: a broker (the one answering
at ``--bootstrap``, else a local one started under .cache/ and stopped at the end), the producers, the readers and
the consumers under test, each consumer in its own process.

Throughput, on one topic pre-filled with ``--articles`` real articles (../shared/data/articles, cycled with new ids)
in ``--partitions`` partitions, ``--repeat`` times in a row, each with a fresh consumer group:

- ``bare``: a Faust agent that only decodes (``json.loads``) each value;
- ``analyze``: a Faust agent that decodes and runs ``Matcher.analyze`` with the shipped rule pack, the matcher built
  the way the worker builds it (``LiveRules``); it also counts the (article, rule) matches, which is the number of
  alerts the worker must publish (the pack has no ``suppress`` and no ``escalate``: one alert or update per match);
- ``hop``: the analyze floor's agent also sends one 2.9 kB message per match, keyed by rule, to a second agent that
  sends one message on for each: the worker's shape (two agents, a topic between them) with none of its own work,
  so what Faust allows for that shape; timed until the second agent has handled every match;
- ``worker``: one real ``newswatch worker`` process (as bench/workers.py starts them) with a fresh app id and
  alerts topic, timed from its first message on the matches topic (the first article that matched, classified) to
  the last alert on ``alerts`` (record timestamps, set by the worker's producer), once ``alerts`` holds as many
  alerts as the analyze floor counted matches; then the analyze floor once more, and the worker is compared with
  the mean of the floor before and after it (the load of a shared machine drifts within a run).

Floors are timed inside their process from the first message consumed to the last, so none of them counts
process start, group join or partition assignment. Each run also prints each process's share of a core over that
time: the analyze floor is not CPU-bound (about 60-65 % of a core: one agent waits on its fetches), while the
worker, whose two agents work while the other waits, is at 100 %; so the worker can pass the analyze floor.

Latency (``--rates``): for each rate a fresh topic and one running worker; one producer sends real articles at that
rate for ``--latency-seconds`` (acks=all), and a reader process on ``alerts`` notes when each alert arrives.
Latency is the article's send call to its first alert's (or update's) arrival at the reader, over the articles that
raised one.

``--profile``: one more worker end-to-end run with ``py-spy record --format raw`` attached from "Worker ready" to
the last alert, summarised by own and total time per function.

``--dump-alerts FILE``: instead of all that, one worker over ``--articles`` articles in ONE partition and every alert
on ``alerts`` written to FILE, ``detected_at`` removed, grouped by rule in topic order (the order Kafka keeps: alerts
are keyed by rule; how two rules' alerts interleave depends on how the worker batches): two dumps of a before/after
pair must be byte-identical.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

from bench.corpus import real_articles  # noqa: E402
from bench.workers import error_lines, start_workers, wait_ready  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
KAFKA_LIBS = ROOT / ".cache" / "kafka" / "libs"


# -- the floors: a Faust agent in a process of its own ----------------------------------------------------------


def run_floor(mode: str, bootstrap: str, topic: str, count: int, partitions: int, out: Path) -> None:
    """The child process of one floor: a plain Faust app whose one agent decodes (and, for ``analyze``, matches)
    every message of ``topic``; writes the first/last times and the match count to ``out`` after ``count``."""
    import faust

    matcher = None
    if mode in ("analyze", "hop"):
        from newswatch.core.settings import get_settings
        from newswatch.matcher.reload import LiveRules
        from newswatch.matcher.topics import RuleTopics

        settings = get_settings()
        matcher = LiveRules(settings.rules_path, RuleTopics.from_settings(settings)).matcher
    work = Path(tempfile.mkdtemp(prefix=f"floor-{mode}-"))
    app = faust.App(
        f"floor-{mode}-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(work),
        web_enabled=False,
        topic_partitions=partitions,
        # the worker's consumer settings (streams/app.py), so the floor reads the way the worker does
        stream_buffer_maxsize=1024,
        broker_max_poll_records=500,
        consumer_auto_offset_reset="earliest",
    )
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    source = app.topic(topic, **raw)
    state: dict[str, Any] = {"n": 0, "first": None, "matches": 0, "hopped": 0}

    def finish() -> None:
        result = {"first": state["first"], "last": time.time(), "count": count, "matches": state["matches"],
                  "cpu_seconds": time.process_time() - state["cpu_at"]}  # fmt: skip
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.rename(out)

    @app.agent(source)
    async def consume(stream: Any) -> None:
        async for value in stream:
            if state["first"] is None:
                state["first"], state["cpu_at"] = time.time(), time.process_time()
            article = json.loads(value)
            if matcher is not None:
                events = matcher.analyze(article).events
                state["matches"] += len(events)
                if mode == "hop":
                    # the worker's shape with none of its own work: one message per match, keyed by rule, as big
                    # as a real match message (2.9 kB), to a second agent that sends one alert for each
                    for event in events:
                        await matches.send(key=event.rule.id.encode(), value=value[:2900])
            state["n"] += 1
            if state["n"] == count and (mode != "hop" or state["hopped"] == state["matches"]):
                finish()

    if mode == "hop":
        matches_name, alerts_name = hop_topics(topic, out)
        matches = app.topic(matches_name, partitions=partitions, **raw)
        alerts = app.topic(alerts_name, partitions=partitions, **raw)

        @app.agent(matches)
        async def route(stream: Any) -> None:
            async for key, value in stream.items():
                await alerts.send(key=key, value=value)
                state["hopped"] += 1
                if state["n"] == count and state["hopped"] == state["matches"]:
                    finish()

    sys.argv = ["floor", "worker", "--loglevel", "warn"]
    app.main()


def hop_topics(topic: str, out: Path) -> tuple[str, str]:
    """The hop floor's matches and alerts topics (created before it starts: a topic Faust creates on first send is
    only read after the next metadata refresh)."""
    return f"{topic}-{out.stem}-matches", f"{topic}-{out.stem}-alerts"


def floor(mode: str, bootstrap: str, topic: str, count: int, partitions: int, work: Path) -> dict[str, Any]:
    """Run one floor in its own process; its figures once it has consumed ``count`` messages."""
    out = work / f"floor-{mode}-{uuid.uuid4().hex[:6]}.json"
    if mode == "hop":
        ensure_topics(bootstrap, list(hop_topics(topic, out)), partitions=partitions)
    log = out.with_suffix(".log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--floor", mode, bootstrap, topic, str(count), str(partitions), str(out)],
            cwd=ROOT,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900
        while not out.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"floor {mode} did not finish; see {log}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    finally:
        stop(proc, timeout=10)
    result = json.loads(out.read_text())
    result["seconds"] = result["last"] - result["first"]
    result["rate"] = count / result["seconds"]
    result["cpu"] = result["cpu_seconds"] / result["seconds"]
    return result


# -- Kafka helpers -----------------------------------------------------------------------------------------------


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


# -- the worker, end to end --------------------------------------------------------------------------------------


def end_to_end(
    bootstrap: str,
    topic: str,
    count: int,
    expected: int,
    partitions: int,
    work: Path,
    *,
    profile: Path | None = None,
    dump: Path | None = None,
) -> dict[str, Any]:
    """One real worker over the pre-filled ``topic``: seconds from its first match message to its last alert."""
    tag = f"pipe-{uuid.uuid4().hex[:8]}"
    alerts = f"alerts-{tag}"
    ensure_topics(bootstrap, [alerts], partitions=partitions)
    procs, logs = start_workers(1, worker_env(bootstrap, topic, alerts, tag, partitions, work), work, tag)
    spy = None
    try:
        wait_ready(logs)
        if profile is not None:
            spy = _spy(procs[0].pid, profile)
        cpu_at, ready_at = _cpu_seconds(procs[0].pid), time.monotonic()
        got = wait_alerts(bootstrap, alerts, expected, procs)
        # the worker's share of a core from ready to its last alert: a slow run that is also busier is doing more
        cpu = (_cpu_seconds(procs[0].pid) - cpu_at) / (time.monotonic() - ready_at)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        rss = _rss(procs[0].pid)
    finally:
        for proc in procs:
            stop(proc)
    records = read_all(bootstrap, alerts)
    start = first_timestamp(bootstrap, f"{tag}-matches")
    last = max(r.timestamp for r in records) / 1000
    stamps = sorted(r.timestamp / 1000 - start for r in records)
    result = {
        "alerts": got,
        "deciles": [round(stamps[int(q * (len(stamps) - 1))], 1) for q in (0, 0.1, 0.5, 0.9, 1)],
        "kinds": dict(Counter(json.loads(r.value)["kind"] for r in records)),
        "seconds": last - start,
        "rate": count / (last - start),
        "rss_mb": rss,
        "cpu": cpu,
        "errors": error_lines(logs),
    }
    if dump is not None:
        alerts = [json.loads(record.value) for record in records]
        with open(dump, "w", encoding="utf-8") as out:
            for alert in sorted(alerts, key=lambda alert: alert["rule"]["id"]):  # stable: topic order within a rule
                alert.pop("detected_at", None)
                out.write(json.dumps(alert, ensure_ascii=False, sort_keys=True) + "\n")
    return result


def _spy(pid: int, out: Path) -> subprocess.Popen:
    """py-spy recording ``pid`` into ``out`` (raw collapsed stacks) until sent SIGINT."""
    spy_cmd = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--rate", "100", "--format", "raw", "--nonblocking", "--gil", "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- latency -----------------------------------------------------------------------------------------------------


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
        [sys.executable, __file__, "--reader", bootstrap, alerts, str(reader_out)], cwd=ROOT, start_new_session=True
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}  # when the broker acknowledged the article: the producer's share of the latency
    try:
        wait_ready(logs)
        while not reader_out.with_suffix(".ready").exists():
            time.sleep(0.2)
        time.sleep(3)
        spy = _spy(procs[0].pid, profile) if profile is not None else None
        cpu_start = _cpu_seconds(procs[0].pid)
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
        cpu = (_cpu_seconds(procs[0].pid) - cpu_start) / produce_seconds
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        # drained: the worker's group has nothing left on the articles topic and alerts stop growing
        drained, quiet = wait_quiet(bootstrap, alerts, quiet=5, limit=start + produce_seconds + drain_limit)
        drain_after = drained - (start + produce_seconds)
        run_errors = error_lines(logs)
        rss = _rss(procs[0].pid)
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


# -- the profile -------------------------------------------------------------------------------------------------


def summarise_profile(raw: Path, top: int = 15) -> str:
    """py-spy's raw (collapsed) stacks as two markdown tables: functions by own time and by total time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_frame(f) for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            if not any(skip in frame for skip in _PLUMBING):
                total[frame] += n
    lines = [f"{samples:,} samples (100/s)", "", "| own % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in own.most_common(top)]
    lines += ["", "| total % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in total.most_common(top * 2)]
    return "\n".join(lines)


# frames every sample of the worker passes through (the CLI, Faust's worker start, the event loop itself)
_PLUMBING = (
    "typer/", "click/", "runpy", "faust/cli/", "mode/worker.py", "__main__", "asyncio/base_events.py",
    "asyncio/events.py", "newswatch/cli.py", "faust/app/base.py", "mode/threads.py", "threading.py",
)  # fmt: skip


def _frame(frame: str) -> str:
    """``name (path:line)`` -> ``name (short path)``, so the lines of one function add up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


# -- main --------------------------------------------------------------------------------------------------------


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


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    width = 100 * (max(values) - min(values)) / statistics.mean(values)
    return f"{min(values):,.0f}-{max(values):,.0f} ({width:.0f} %)"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--floor":
        mode, bootstrap, topic, count, partitions, out = sys.argv[2:8]
        run_floor(mode, bootstrap, topic, int(count), int(partitions), Path(out))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--reader":
        run_reader(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rates", default="100,500,1000,1500", help="latency runs, articles/s; '' for none")
    parser.add_argument("--latency-seconds", type=float, default=30)
    parser.add_argument("--drain-limit", type=float, default=45, help="s to wait for alerts after the last send")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker in every run")
    parser.add_argument("--dump-alerts", type=Path, help="only: one 1-partition worker run, its alerts to this file")
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:39092"))
    parser.add_argument("--keep", type=Path, help="keep logs and data in this folder")
    args = parser.parse_args()
    os.environ["NEWSWATCH_KAFKA_BOOTSTRAP"] = args.bootstrap
    kafka = ensure_broker(args.bootstrap)
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            run(args, args.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="pipeline-") as tmp:
                run(args, Path(tmp))
    finally:
        if kafka is not None:
            kafka.down()


def run(args: argparse.Namespace, work: Path) -> None:
    bootstrap = args.bootstrap
    print(f"{time.strftime('%Y-%m-%d %H:%M')} load average {os.getloadavg()}", flush=True)
    if args.dump_alerts:
        topic = f"articles-dump-{uuid.uuid4().hex[:6]}"
        ensure_topics(bootstrap, [topic], partitions=1)
        # the same bytes in every dump run: real_articles stamps fetched_at with the time now, and alerts copy it
        articles = [{**a, "fetched_at": "2026-01-01T00:00:00Z"} for a in real_articles(SHARED, args.articles)]
        produce(bootstrap, topic, articles)
        expected = floor("analyze", bootstrap, topic, args.articles, 1, work)["matches"]
        result = end_to_end(bootstrap, topic, args.articles, expected, 1, work, dump=args.dump_alerts)
        print(f"{result['alerts']} alerts (expected {expected}) {result['kinds']} -> {args.dump_alerts}")
        return
    rows: dict[str, list[float]] = {"bare": [], "analyze": [], "hop": [], "worker": [], "ratio": []}
    if not args.no_throughput:
        topic = f"articles-pipe-{uuid.uuid4().hex[:6]}"
        ensure_topics(bootstrap, [topic], partitions=args.partitions)
        seconds = produce(bootstrap, topic, real_articles(SHARED, args.articles))
        print(f"pre-filled {topic}: {args.articles:,} articles in {seconds:.1f} s", flush=True)
        for i in range(args.repeat):
            bare = floor("bare", bootstrap, topic, args.articles, args.partitions, work)
            analyze = floor("analyze", bootstrap, topic, args.articles, args.partitions, work)
            hop = floor("hop", bootstrap, topic, args.articles, args.partitions, work)
            e2e = end_to_end(bootstrap, topic, args.articles, analyze["matches"], args.partitions, work)
            # the analyze floor again right after the worker: the load of a shared machine drifts during a run, so
            # the worker is compared with the mean of the floor just before and just after it
            after = floor("analyze", bootstrap, topic, args.articles, args.partitions, work)
            analyze = {**analyze, "rate": (analyze["rate"] + after["rate"]) / 2, "before_after": (analyze, after)}
            ratio = e2e["rate"] / analyze["rate"]
            named = (
                ("bare", bare["rate"]),
                ("analyze", analyze["rate"]),
                ("hop", hop["rate"]),
                ("worker", e2e["rate"]),
            )
            for name, value in named:
                rows[name].append(value)
            rows["ratio"].append(100 * ratio)
            print(
                f"run {i + 1}: bare {bare['rate']:,.0f}/s (CPU {100 * bare['cpu']:.0f} %); "
                f"analyze {analyze['rate']:,.0f}/s (before "
                f"{analyze['before_after'][0]['rate']:,.0f}, after {analyze['before_after'][1]['rate']:,.0f}; CPU "
                f"{100 * analyze['before_after'][0]['cpu']:.0f}/{100 * analyze['before_after'][1]['cpu']:.0f} % of a "
                f"core) ({analyze['matches']:,} matches); analyze + matches hop {hop['rate']:,.0f}/s = "
                f"{100 * hop['rate'] / analyze['rate']:.0f} % of analyze; "
                f"worker {e2e['rate']:,.0f}/s = {100 * ratio:.0f} % of analyze "
                f"({e2e['alerts']:,} alerts {e2e['kinds']}, {e2e['seconds']:.1f} s, peak RSS {e2e['rss_mb']:.0f} MB, "
                f"CPU {100 * e2e['cpu']:.0f} % of a core, {e2e['errors']} ERROR lines; "
                f"alerts 0/10/50/90/100 % at {e2e['deciles']} s); "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if args.profile:
            raw = ROOT / ".cache" / f"pyspy-{time.strftime('%H%M%S')}.txt"
            e2e = end_to_end(bootstrap, topic, args.articles, rows_matches(work), args.partitions, work,
                             profile=raw)  # fmt: skip
            print(f"profiled run: worker {e2e['rate']:,.0f}/s under py-spy ({e2e['seconds']:.1f} s); raw: {raw}")
            print(summarise_profile(raw), flush=True)
        print()
        print(
            "| run | bare Faust agent | Faust agent + analyze | + matches hop | worker end to end | worker / analyze |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for i in range(len(rows["bare"])):
            print(
                f"| {i + 1} | {rows['bare'][i]:,.0f} | {rows['analyze'][i]:,.0f} | {rows['hop'][i]:,.0f} "
                f"| {rows['worker'][i]:,.0f} "
                f"| {rows['ratio'][i]:.0f} % |"
            )
        print(
            f"| spread (min-max, % of mean) | {spread(rows['bare'])} | {spread(rows['analyze'])} "
            f"| {spread(rows['hop'])} "
            f"| {spread(rows['worker'])} | {spread(rows['ratio'])} |"
        )
        print(flush=True)
    rates = [int(r) for r in args.rates.split(",") if r]
    if rates:
        results = []
        for rate in rates:
            raw = ROOT / ".cache" / f"pyspy-lat{rate}-{time.strftime('%H%M%S')}.txt" if args.profile else None
            res = latency(bootstrap, rate, args.latency_seconds, args.partitions, work, args.drain_limit, raw)
            results.append(res)
            print(
                f"rate {rate}/s: achieved {res['achieved']:,.0f}/s (producer at most {res['behind_s']:.2f} s behind); "
                f"{res['alerted']:,} of {res['sent']:,} articles alerted; p50 {res['p50']:.0f} ms, p95 "
                f"{res['p95']:.0f} ms, p99 {res['p99']:.0f} ms, max {res['max']:.0f} ms (p99 to the alert's record "
                f"timestamp {res['p99_sent_ts']:.0f} ms; to the article's acknowledgement by the broker: p99 "
                f"{res['p99_acked']:.0f} ms, max {res['max_acked']:.0f} ms); last alert {res['drain_after_s']:.1f} s "
                f"after the last send{'' if res['drained'] else ' (NOT drained: percentiles are lower bounds)'}; "
                f"worker CPU {100 * res['cpu']:.0f} % of a core while sending; "
                f"RSS {res['rss_mb']:.0f} MB; {res['errors']} ERROR lines; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if raw is not None:
                print(f"worker profiled while the articles were sent; raw: {raw}")
                print(summarise_profile(raw), flush=True)
        print()
        print("| rate | achieved | alerted articles | p50 ms | p95 ms | p99 ms | max ms | all in by the drain limit |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in results:
            print(
                f"| {r['rate']:,}/s | {r['achieved']:,.0f}/s | {r['alerted']:,} | {r['p50']:,.0f} | {r['p95']:,.0f} "
                f"| {r['p99']:,.0f} | {r['max']:,.0f} | {'yes' if r['drained'] else 'no: lower bounds'} |"
            )


def rows_matches(work: Path) -> int:
    """The match count the analyze floor found on ``topic`` (read back from its result file)."""
    counts = [json.loads(p.read_text())["matches"] for p in work.glob("floor-analyze-*.json")]
    return max(counts)


if __name__ == "__main__":
    main()
