"""Soak benchmark: a steady stream of real articles for minutes, hot rule reloads every minute, real workers.

    .venv/bin/python bench/bench_soak.py [--rate 500] [--seconds 600] [--workers 2] [--reload-every 60]
                                         [--warmup 180] [--story-window 120] [--partitions 8]

Fresh topics and app id; the workers read a copy of config/rules, to which a rule file is rewritten every
``--reload-every`` seconds (a new rule each time, whose term occurs in no article, so the expected alerts do not
depend on when a worker picks it up). A child process produces the real articles of
../shared/data/articles/articles.jsonl, cycled with new ids, at a steady ``--rate`` for ``--seconds``; a
kafka-python consumer reads the alerts topic meanwhile. Every 5 s: the group's lag on ``articles`` and each
worker's RSS. At the end it checks that every (article, rule) pair the rules match (computed offline with the
same engine) is accounted for by an alert or update, that no pair has two alert ids, how many reloads each worker
applied, and the ERROR lines in the worker logs. Prints the figures; it is a benchmark, not a test.

The workers' story window is 2 minutes (``--story-window``), not the default day: story state is legitimately
what one window of news holds, so memory levels off only after a window; a short window lets a 10-minute run
reach that steady state after warm-up and then show whether anything else grows. The stream re-sends the same
4,729 stories every lap (every ~9 s at 500/s), so each lap within the window is an update of a live story.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

from bench.corpus import real_articles  # noqa: E402
from bench.workers import error_lines, group_lag, rss_mb, start_workers, wait_ready  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402
from newswatch.matcher import Matcher, load_rules  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BASE = 4_729  # the articles of articles.jsonl; lap n of the stream re-sends them with ids "lap<n>-<id>"


def article_id(base: list[dict], i: int) -> str:
    """The id of the ``i``-th article sent (real_articles' scheme)."""
    lap, row = divmod(i, len(base))
    return base[row]["id"] if lap == 0 else f"lap{lap}-{base[row]['id']}"


def produce_steady(bootstrap: str, topic: str, rate: float, seconds: float, out: Path) -> None:
    """The child process: send ``rate`` articles per second for ``seconds``, then write what was sent."""
    base = real_articles(SHARED, BASE)
    # Serialised once: at 500/s, json.dumps of ~4 kB articles would take much of the core the workers need.
    templates = [json.dumps({**a, "id": "\x00"}).encode() for a in base]
    # Big batches: at 500/s the default 16 kB batch holds ~4 articles, and the requests cost the broker and this
    # process CPU that the workers need on a 2-core machine.
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=50,
        batch_size=1024 * 1024,
        enable_idempotence=True,
        request_timeout_ms=60_000,
        delivery_timeout_ms=600_000,  # a starved sender thread must not expire batches (a first run lost 8 %)
    )
    total = int(rate * seconds)
    failed: dict[str, int] = defaultdict(int)
    delivered = bytearray(total)  # 1 where Kafka acknowledged article i: only those can give alerts

    def acked(i: int) -> object:
        return lambda _metadata: delivered.__setitem__(i, 1)

    def refused(exc: BaseException) -> None:
        failed[type(exc).__name__] += 1

    start = time.monotonic()
    behind = 0.0
    for i in range(total):
        ahead = start + i / rate - time.monotonic()
        if ahead > 0.005:
            time.sleep(ahead)
        behind = max(behind, -ahead)
        key = article_id(base, i).encode()
        value = templates[i % len(base)].replace(b'"id": "\\u0000"', b'"id": "%s"' % key, 1)
        producer.send(topic, key=key, value=value).add_callback(acked(i)).add_errback(refused)
    producer.flush(120)
    elapsed = time.monotonic() - start
    producer.close()
    out.write_text(
        json.dumps(
            {
                "sent": total,
                "seconds": elapsed,
                "max_behind_s": behind,
                "failed": failed,
                "delivered": [i for i in range(total) if delivered[i]],
            }
        )
    )


class AlertReader(threading.Thread):
    """Reads the alerts topic from the start: which (article, rule) pairs are covered, and under which alert ids."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        self.ids: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.kinds: dict[str, int] = defaultdict(int)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for records in self.consumer.poll(timeout_ms=500).values():
                for record in records:
                    alert = json.loads(record.value)
                    self.kinds[alert["kind"]] += 1
                    if alert["kind"] != "escalation":
                        self.ids[(alert["article"]["id"], alert["rule"]["id"])].add(alert["alert_id"])
        self.consumer.close()


def write_reload_rule(rules: Path, n: int) -> None:
    """A new rule, valid and never matching, so each reload is a real one with the same expected alerts."""
    (rules / "events" / "soak.yaml").write_text(
        "events:\n"
        f"  - id: soak_reload_{n}\n"
        f"    title: Soak reload {n}\n"
        "    category: soak\n"
        "    severity: low\n"
        f"    match: {{any: [zzsoakterm{n}]}}\n"
        f"    examples: {{match: [a zzsoakterm{n} b], no_match: [nothing here]}}\n",
        encoding="utf-8",
    )


def reloads_applied(ports: list[int]) -> list[int]:
    """``newswatch_rules_reloads_total{outcome="ok"}`` of each worker."""
    counts = []
    for port in ports:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        line = next((x for x in text.splitlines() if x.startswith('newswatch_rules_reloads_total{outcome="ok"}')), "")
        counts.append(int(float(line.split()[-1])) if line else 0)
    return counts


def main() -> None:
    """Run the soak and print its figures."""
    if len(sys.argv) == 7 and sys.argv[1] == "--produce-only":
        produce_steady(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), Path(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reload-every", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=180, help="RSS after this many seconds is the reference")
    parser.add_argument(
        "--story-window", type=float, default=120, help="NEWSWATCH_STORY_WINDOW_SECONDS of the workers (see above)"
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    args = parser.parse_args()

    tag = f"soak-{uuid.uuid4().hex[:6]}"
    articles_topic, alerts_topic = f"articles-{tag}", f"alerts-{tag}"
    ensure_topics(args.bootstrap, [articles_topic, alerts_topic], partitions=args.partitions)
    base = real_articles(SHARED, BASE)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = Path(tmp)
        rules = work / "rules"
        shutil.copytree(ROOT / "config" / "rules", rules)
        write_reload_rule(rules, 0)
        matcher = Matcher(load_rules(rules))
        started = time.monotonic()
        base_rules = [sorted(m.rule.id for m in matcher.match(a)) for a in base]
        print(f"expected matches of the {len(base):,} base articles: {time.monotonic() - started:.1f} s", flush=True)

        env = {
            "NEWSWATCH_KAFKA_BOOTSTRAP": args.bootstrap,
            "NEWSWATCH_ARTICLES_TOPIC": articles_topic,
            "NEWSWATCH_ALERTS_TOPIC": alerts_topic,
            "NEWSWATCH_APP_ID": tag,
            "NEWSWATCH_DATA_DIR": str(work / "data"),
            "NEWSWATCH_TOPIC_PARTITIONS": str(args.partitions),
            "NEWSWATCH_RULES_PATH": str(rules),
            "NEWSWATCH_STORY_WINDOW_SECONDS": str(args.story_window),
        }
        procs, logs = start_workers(args.workers, env, work, tag)
        ports = [int(p.args[-1]) for p in procs]
        reader = AlertReader(args.bootstrap, alerts_topic)
        admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
        consumer = KafkaConsumer(bootstrap_servers=args.bootstrap)
        tps = [TopicPartition(articles_topic, p) for p in range(args.partitions)]
        samples: list[tuple[float, int, list[float]]] = []  # (seconds, lag, RSS MB per worker)
        try:
            wait_ready(logs)
            reader.start()
            out = work / "produced.json"
            rate_args = [str(args.rate), str(args.seconds)]
            start = time.monotonic()
            sender = subprocess.Popen(
                [sys.executable, __file__, "--produce-only", args.bootstrap, articles_topic, *rate_args, str(out)],
                cwd=ROOT,
            )
            reloads, stopped_at = 0, None
            while True:
                time.sleep(max(0.0, 5.0 - (time.monotonic() - start) % 5.0))
                now = time.monotonic() - start
                lag = group_lag(admin, consumer, tag, tps)
                samples.append((now, lag, [rss_mb(p.pid) for p in procs]))
                if stopped_at is None and now < args.seconds and now >= (reloads + 1) * args.reload_every:
                    reloads += 1
                    write_reload_rule(rules, reloads)
                if stopped_at is None and sender.poll() is not None:
                    if sender.returncode != 0:
                        raise RuntimeError(f"the producer failed (exit {sender.returncode})")
                    stopped_at = now
                if stopped_at is not None and lag == 0:
                    break
                if now > args.seconds + 900:
                    raise RuntimeError(f"not drained 15 min after the stream ended (lag {lag})")
            produced = json.loads(out.read_text())
            expected = {
                (article_id(base, i), rule) for i in produced["delivered"] for rule in base_rules[i % len(base)]
            }
            deadline = time.monotonic() + 120
            while not expected <= reader.ids.keys() and time.monotonic() < deadline:
                time.sleep(2)
            applied = reloads_applied(ports)
            final_rss = [rss_mb(p.pid) for p in procs]
            peak_rss = [rss_mb(p.pid, "VmHWM") for p in procs]
        finally:
            reader.done.set()
            for proc in procs:
                stop(proc)
            admin.close()
            consumer.close()
        errors = error_lines(logs)

    warm = next(s for s in samples if s[0] >= args.warmup)
    streaming = [s for s in samples if s[0] <= stopped_at]
    lost = expected - reader.ids.keys()
    conflicting = sum(1 for ids in reader.ids.values() if len(ids) > 1)
    growth = [f"{(end / w - 1) * 100:+.1f} %" for end, w in zip(final_rss, warm[2], strict=True)]
    print(
        "\n".join(
            [
                f"command: .venv/bin/python bench/bench_soak.py {' '.join(sys.argv[1:])}".rstrip(),
                f"produced: {produced['sent']:,} articles in {produced['seconds']:.0f} s "
                f"({produced['sent'] / produced['seconds']:.0f}/s; producer at most {produced['max_behind_s']:.2f} s "
                f"behind its schedule); acknowledged by Kafka {len(produced['delivered']):,}, refused "
                f"{dict(produced['failed']) or 0}",
                f"lag while streaming: max {max(s[1] for s in streaming):,}, "
                f"at the end of the stream {streaming[-1][1]:,}"
                f"; drained {samples[-1][0] - stopped_at:.0f} s after the stream ended",
                f"rule reloads: {reloads} written, applied per worker {applied}",
                f"RSS MB per worker: after warm-up ({warm[0]:.0f} s) {[round(m) for m in warm[2]]}, at the end "
                f"{[round(m) for m in final_rss]} ({', '.join(growth)}), peak {[round(m) for m in peak_rss]}",
                f"alerts topic: {dict(reader.kinds)}",
                f"expected (article, rule) pairs: {len(expected):,}; lost: {len(lost):,}; "
                f"pairs under two alert ids: {conflicting:,}",
                f"ERROR lines in worker logs: {errors}",
                "lag / RSS every 30 s: "
                + ", ".join(f"{s[0]:.0f}s {s[1]:,} {[round(m) for m in s[2]]}" for s in samples[::6]),
            ]
        )
    )


if __name__ == "__main__":
    main()
