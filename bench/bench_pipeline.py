"""Pipeline benchmark: the worker's throughput against Faust's floors measured in the same run, and its latency.

    .venv/bin/python bench/bench_pipeline.py [--articles 20000] [--partitions 8] [--repeat 2]
        [--rates 100,500,1000,1500] [--latency-seconds 30] [--profile] [--bootstrap 127.0.0.1:39092]

It is a benchmark that prints its figures, not a test. This file runs it and times the worker end to end; its
parts: ``pipeline_floors.py`` (the Faust floors, each in a process of its own), ``pipeline_latency.py`` (the
fixed-rate runs and their alerts reader), ``pipeline_kafka.py`` (broker, topics, waiting for alerts) and
``pyspy.py`` (``--profile``). Everything runs on this machine: a broker (the one answering
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
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import real_articles  # noqa: E402
from bench.pipeline_floors import floor  # noqa: E402
from bench.pipeline_kafka import (  # noqa: E402
    ensure_broker,
    first_timestamp,
    produce,
    read_all,
    wait_alerts,
    worker_env,
)
from bench.pipeline_latency import latency  # noqa: E402
from bench.pyspy import spy as start_spy  # noqa: E402
from bench.pyspy import summarise_profile  # noqa: E402
from bench.workers import cpu_seconds, error_lines, rss_mb, start_workers, wait_ready  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


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
            spy = start_spy(procs[0].pid, profile)
        cpu_at, ready_at = cpu_seconds(procs[0].pid), time.monotonic()
        got = wait_alerts(bootstrap, alerts, expected, procs)
        # the worker's share of a core from ready to its last alert: a slow run that is also busier is doing more
        cpu = (cpu_seconds(procs[0].pid) - cpu_at) / (time.monotonic() - ready_at)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        rss = rss_mb(procs[0].pid, "VmHWM")
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


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    width = 100 * (max(values) - min(values)) / statistics.mean(values)
    return f"{min(values):,.0f}-{max(values):,.0f} ({width:.0f} %)"


def main() -> None:
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
