"""Burst benchmark: a big news day's worth of articles at once, drained by 1 and then by 2 real workers.

    .venv/bin/python bench/bench_burst.py [--articles 50000] [--workers 1,2] [--partitions 8]

For each worker count: fresh topics and app id; the workers start and join their group; then the articles (the
real ones of ../shared/data/articles/articles.jsonl, cycled with new ids) are produced as fast as one
kafka-python producer goes (acks=all) into ``--partitions`` partitions. Every second the group's lag on the
articles topic (end offsets minus the group's committed offsets, kafka-python admin) and each worker's RSS are
sampled, until the lag is 0. Prints the figures, plots lag vs time to bench/burst-lag.png (matplotlib, Agg)
and writes them to the "## Burst" section of bench/RESULTS.md. It is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

from bench.corpus import real_articles  # noqa: E402
from bench.workers import error_lines, group_lag, rss_mb, start_workers, wait_ready  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PLOT = ROOT / "bench" / "burst-lag.png"
RESULTS = ROOT / "bench" / "RESULTS.md"


@dataclass
class Run:
    """What one burst gave with ``workers`` workers."""

    workers: int
    produce_seconds: float = 0.0
    drain_seconds: float = 0.0  # from the first article sent to the group's lag back at 0
    peak_lag: int = 0
    peak_rss_mb: list[float] = field(default_factory=list)  # VmHWM of each worker
    errors: int = 0  # ERROR lines in the workers' logs
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since first send, lag)


def produce_burst(bootstrap: str, topic: str, articles: list[bytes], keys: list[bytes]) -> float:
    """Send everything as fast as one producer goes; seconds until the last acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    start = time.monotonic()
    for key, value in zip(keys, articles, strict=True):
        producer.send(topic, key=key, value=value)
    producer.flush(300)
    elapsed = time.monotonic() - start
    producer.close()
    return elapsed


def burst(bootstrap: str, workers: int, partitions: int, count: int, work: Path) -> Run:
    """One run: start ``workers`` workers, send the burst, sample lag and RSS each second until drained."""
    tag = f"burst-{workers}w-{uuid.uuid4().hex[:6]}"
    articles_topic, alerts_topic = f"articles-{tag}", f"alerts-{tag}"
    ensure_topics(bootstrap, [articles_topic, alerts_topic], partitions=partitions)
    env = {
        "NEWSWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "NEWSWATCH_ARTICLES_TOPIC": articles_topic,
        "NEWSWATCH_ALERTS_TOPIC": alerts_topic,
        "NEWSWATCH_APP_ID": tag,
        "NEWSWATCH_DATA_DIR": str(work / tag),
        "NEWSWATCH_TOPIC_PARTITIONS": str(partitions),
    }
    procs, logs = start_workers(workers, env, work, tag)
    run = Run(workers)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tps = [TopicPartition(articles_topic, p) for p in range(partitions)]
    try:
        # Wait until every worker has its share, so the burst meets a settled group (as on a real news day).
        wait_ready(logs)
        time.sleep(5)
        start = time.monotonic()
        sampler_done = False
        # The producer runs in a child process so that sampling goes on (every second) while it sends.
        sender = subprocess.Popen(
            [sys.executable, __file__, "--produce-only", bootstrap, articles_topic, str(count)], cwd=ROOT
        )
        while not sampler_done:
            time.sleep(max(0.0, 1.0 - (time.monotonic() - start) % 1.0))
            lag = group_lag(admin, consumer, tag, tps)
            now = time.monotonic() - start
            run.samples.append((now, lag))
            run.peak_lag = max(run.peak_lag, lag)
            sent = sender.poll() is not None
            sampler_done = sent and lag == 0 and now > 2
            if now > 1800:
                raise RuntimeError(f"not drained after 30 min (lag {lag})")
        run.drain_seconds = run.samples[-1][0]
        run.produce_seconds = float(json.loads((work / f"produce-{articles_topic}.json").read_text())["seconds"])
        run.peak_rss_mb = [rss_mb(p.pid, "VmHWM") for p in procs]
    finally:
        for proc in procs:
            stop(proc)
        admin.close()
        consumer.close()
    run.errors = error_lines(logs)
    return run


def plot(runs: list[Run], articles: int, partitions: int) -> None:
    """Lag vs time for every run, one line each, to bench/burst-lag.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for run in runs:
        xs, ys = zip(*run.samples, strict=True)
        ax.plot(xs, ys, label=f"{run.workers} worker{'s' * (run.workers > 1)} (drained in {run.drain_seconds:.0f} s)")
    ax.set_xlabel("seconds since the burst started")
    ax.set_ylabel("consumer lag on articles (messages)")
    ax.set_title(f"Burst of {articles:,} articles into {partitions} partitions")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT)


def report(runs: list[Run], articles: int, partitions: int, command: str) -> str:
    """The markdown of the "## Burst" section."""
    rows = [
        f"| {r.workers} | {articles / r.produce_seconds:,.0f} | {r.drain_seconds:.0f} | "
        f"{articles / r.drain_seconds:,.0f} | {r.peak_lag:,} | {' / '.join(f'{m:.0f}' for m in r.peak_rss_mb)} | "
        f"{r.errors} |"
        for r in runs
    ]
    return "\n".join(
        [
            "## Burst",
            "",
            f"`bench/bench_burst.py`: {articles:,} real articles (../shared/data/articles, cycled with new",
            f"ids) produced as fast as one kafka-python producer goes (acks=all, no compression) into {partitions}",
            "partitions, while 1 and then 2 real `newswatch worker` processes (fresh topics and app id per run)",
            "drain them; the group's lag on `articles` (end offsets - committed offsets) sampled every second.",
            "Same machine as above (2 shared cores; broker, producer and workers all on it).",
            "",
            "```",
            command,
            "```",
            "",
            "| workers | produce articles/s | drain s (from first send) | articles/s | peak lag "
            "| peak RSS MB per worker | ERROR log lines |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "![lag vs time](burst-lag.png)",
            "",
        ]
    )


def write_results(section: str) -> None:
    """Replace the "## Burst" section of bench/RESULTS.md (or append it), leaving the other sections as they are."""
    text = RESULTS.read_text()
    start = text.find("\n## Burst\n")
    if start == -1:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    end = text.find("\n## ", start + 1)
    RESULTS.write_text(text[: start + 1] + section + (text[end:] if end != -1 else ""))


def produce_only(bootstrap: str, topic: str, count: int) -> None:
    """The child process of one burst: build the articles, send them, write the seconds it took."""
    articles = real_articles(SHARED, count)
    values = [json.dumps(a).encode() for a in articles]
    keys = [a["id"].encode() for a in articles]
    seconds = produce_burst(bootstrap, topic, values, keys)
    out = Path(os.environ["BURST_WORK"]) / f"produce-{topic}.json"
    out.write_text(json.dumps({"seconds": seconds}))


def main() -> None:
    """Run the bursts, print the figures, write the plot and the RESULTS.md section."""
    if len(sys.argv) == 5 and sys.argv[1] == "--produce-only":
        produce_only(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--no-write", action="store_true", help="print only; leave the plot and RESULTS.md alone")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="burst-") as tmp:
        os.environ["BURST_WORK"] = tmp
        for workers in (int(w) for w in args.workers.split(",")):
            run = burst(args.bootstrap, workers, args.partitions, args.articles, Path(tmp))
            print(
                f"{workers} worker(s): produced {args.articles:,} in {run.produce_seconds:.1f} s "
                f"({args.articles / run.produce_seconds:,.0f}/s); drained in {run.drain_seconds:.0f} s "
                f"({args.articles / run.drain_seconds:,.0f} articles/s); peak lag {run.peak_lag:,}; "
                f"peak RSS {[round(m) for m in run.peak_rss_mb]} MB; {run.errors} ERROR lines",
                flush=True,
            )
            runs.append(run)
    command = ".venv/bin/python bench/bench_burst.py " + " ".join(sys.argv[1:])
    section = report(runs, args.articles, args.partitions, command.strip())
    print(section)
    if not args.no_write:
        plot(runs, args.articles, args.partitions)
        write_results(section)
        print(f"wrote {PLOT.relative_to(ROOT)} and the Burst section of {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
