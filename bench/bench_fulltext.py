"""Full-text stage bench: what reading the page adds to an article's way to ``articles``, and pages per second.

Needs a broker: ``newswatch kafka up`` (or ``--bootstrap``). Pages are served over local HTTP (one host, so the
per-host pause is set to 0 and 8 fetches at once; with the production default of 1 s per host, a burst of pages
from one site is spaced out on purpose). The stage runs in this process, as ``newswatch fulltext`` runs it.

1. **Added latency**: real labelled articles, one at a time (no queueing), each produced once straight to an
   articles topic (what a whole-text feed's item does) and once as a teaser to the teasers topic, its link
   pointing to the story inside a real news page. Send to arrival on ``articles``, both ways. Everything after
   ``articles`` (classify, route, alerts) is the same for both, so the difference is what the page adds to
   feed-to-alert time.
2. **Throughput**: the 109 real pages of ../shared/data/pages, three times under different URLs, as fast as
   the stage goes; and in the same run the floor: trafilatura extracting the same pages in one process, no
   network, no Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.core.http import FetchLimits, make_client  # noqa: E402
from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.fulltext.extract import ExtractLimits, Extractor, extract_text  # noqa: E402
from newswatch.fulltext.metrics import FulltextMetrics  # noqa: E402
from newswatch.fulltext.pages import PAGE_TYPES, PageReader, ReaderOptions  # noqa: E402
from newswatch.fulltext.stage import FulltextStage, StageTopics  # noqa: E402
from newswatch.local.feedserver import FeedServer, Route  # noqa: E402
from newswatch.local.storypages import first_sentence, story_page  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TEMPLATES = ("reuters.com.parasite", "theguardian.com.academics", "dw.com.uncork", "heise.de.lithium")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class StageThread:
    """A full-text stage on its own event loop in a background thread."""

    def __init__(self, bootstrap: str, teasers: str, articles: str, server: FeedServer) -> None:
        limits = FetchLimits(
            max_bytes=5 * 1024 * 1024, deadline=20.0, refuse_private=True,
            private_allowed=frozenset({f"127.0.0.1:{server.port}"}),
        )  # fmt: skip
        self.options = ReaderOptions(limits=limits, per_host=8, host_interval=0.0)
        self.topics = StageTopics(bootstrap, teasers, articles, f"bench-fulltext-{uuid.uuid4().hex[:8]}")
        self.metrics = FulltextMetrics(CollectorRegistry())
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        extractor = Extractor(2, ExtractLimits(timeout=20.0))
        try:
            async with make_client(self.options.limits, max_connections=32, accept=PAGE_TYPES) as client:
                reader = PageReader(client, extractor, self.metrics, self.options)
                await FulltextStage(self.topics, reader, self.metrics, in_flight=32).run(self.stop)
        finally:
            extractor.close()

    def passed(self) -> float:
        """Articles the stage has passed on so far."""
        r = self.metrics.registry
        return sum(
            r.get_sample_value("newswatch_fulltext_articles_total", {"text_source": s}) or 0 for s in ("page", "feed")
        )

    def __enter__(self) -> StageThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)


def labelled_articles(count: int) -> list[dict]:
    """``count`` labelled articles of usual length (2,000-8,000 characters)."""
    wanted = {json.loads(line)["id"] for line in (ROOT / "tests" / "fixtures" / "eval" / "labels.jsonl").open()}
    out = []
    for line in (SHARED / "articles" / "articles.jsonl").open(encoding="utf-8"):
        article = json.loads(line)
        if article["id"] in wanted and 2_000 <= len(article["text"]) <= 8_000:
            out.append(article)
        if len(out) == count:
            break
    return out


def latency(bootstrap: str, count: int) -> dict[str, list[float]]:
    """Send-to-arrival seconds per article, straight to articles and as a teaser through the stage."""
    stories = labelled_articles(count)
    templates = [(SHARED / "pages" / f"{name}.html").read_bytes() for name in TEMPLATES]
    run = uuid.uuid4().hex[:8]
    direct, teasers, articles = f"bench-direct-{run}", f"bench-teasers-{run}", f"bench-articles-{run}"
    ensure_topics(bootstrap, [direct, teasers, articles])
    out: dict[str, list[float]] = {"direct": [], "page": []}
    with FeedServer() as server:
        for n, story in enumerate(stories):
            page = story_page(templates[n % len(templates)], story["title"], story["text"])
            server.routes[f"/story/{n}"] = Route(page, content_type="text/html")
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        partitions = [TopicPartition(direct, 0), TopicPartition(articles, 0)]
        consumer.assign(partitions)
        consumer.seek_to_end()
        for tp in partitions:  # resolved now: a lazy "end" taken after the first send would skip it
            consumer.position(tp)
        with StageThread(bootstrap, teasers, articles, server) as stage:
            warm = {"id": "warm", "url": server.url("/story/0"), "title": "w", "summary": "w"}
            producer.send(teasers, key=b"warm", value=json.dumps(warm).encode())
            while stage.passed() < 1:  # group joined, extraction processes started
                time.sleep(0.05)
            for n, story in enumerate(stories):
                article = {"id": f"{run}-{n}", "title": story["title"], "summary": first_sentence(story["text"])}
                for topic, path in ((direct, "direct"), (teasers, "page")):
                    sent = {**article, "content": story["text"] if path == "direct" else article["summary"]}
                    sent["url"] = server.url(f"/story/{n}")
                    started = time.perf_counter()
                    producer.send(topic, key=sent["id"].encode(), value=json.dumps(sent).encode())
                    arrived = False
                    while not arrived:
                        for records in consumer.poll(timeout_ms=100).values():
                            arrived |= any(json.loads(r.value)["id"] == sent["id"] for r in records)
                    out[path].append(time.perf_counter() - started)
                time.sleep(0.2)
        producer.close()
        consumer.close()
    return out


def throughput(bootstrap: str, rounds: int = 3) -> tuple[float, float, int]:
    """(stage pages/s, extraction-only pages/s, pages) on the real pages, each served under ``rounds`` URLs."""
    pages = sorted((SHARED / "pages").glob("*.html"))
    started = time.perf_counter()
    for _ in range(rounds):
        for page in pages:
            extract_text(page.read_bytes())
    floor = rounds * len(pages) / (time.perf_counter() - started)
    run = uuid.uuid4().hex[:8]
    teasers, articles = f"bench-teasers-{run}", f"bench-articles-{run}"
    ensure_topics(bootstrap, [teasers, articles], partitions=8)
    with FeedServer() as server:
        for page in pages:
            server.routes[f"/{page.name}"] = Route(page.read_bytes(), content_type="text/html")
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        total = 0
        for r in range(rounds):
            for page in pages:
                url = f"{server.url('/' + page.name)}?round={r}"  # another URL: no reuse of an earlier read
                value = {"id": f"{r}-{page.stem}", "url": url, "title": page.stem, "summary": ""}
                producer.send(teasers, key=value["id"].encode(), value=json.dumps(value).encode())
                total += 1
        producer.flush()
        producer.close()
        with StageThread(bootstrap, teasers, articles, server) as stage:
            while stage.passed() < 1:
                time.sleep(0.01)
            first = time.perf_counter()
            while stage.passed() < total:
                time.sleep(0.02)
            seconds = time.perf_counter() - first
    return (total - 1) / seconds, floor, total


def main() -> None:
    """Run both parts and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()
    times = latency(args.bootstrap, args.articles)
    print(f"added latency, {args.articles} real articles one at a time (ms):")
    print("| path | p50 | p95 | p99 | mean |")
    print("|---|---:|---:|---:|---:|")
    for path, values in times.items():
        ms = [v * 1000 for v in values]
        print(
            f"| {path} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | {percentile(ms, 99):.1f} | "
            f"{statistics.mean(ms):.1f} |"
        )
    added = [(p - d) * 1000 for p, d in zip(times["page"], times["direct"], strict=True)]
    print(f"| added by the page | {percentile(added, 50):.1f} | {percentile(added, 95):.1f} | "
          f"{percentile(added, 99):.1f} | {statistics.mean(added):.1f} |")  # fmt: skip
    stage, floor, pages = throughput(args.bootstrap)
    print(f"\nthroughput on {pages} real pages: stage {stage:.1f} pages/s; extraction alone, one process: "
          f"{floor:.1f} pages/s (stage / floor = {stage / floor:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
