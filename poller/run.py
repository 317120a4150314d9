"""The poll loop: every feed on its own schedule, new items produced, items already seen dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from poller.articles import to_article
from poller.config import Feed, FeedsConfig
from poller.fetch import FetchResult, fetch_file, fetch_http, make_client
from poller.parse import parse_feed
from poller.produce import ArticleSink

log = logging.getLogger(__name__)


@dataclass
class FeedState:
    """What the poller remembers about one feed between polls."""

    etag: str | None = None
    last_modified: str | None = None
    seen: set[str] = field(default_factory=set)
    failures: int = 0
    last_error: str | None = None
    next_poll: float = 0.0


@dataclass
class PollOutcome:
    """The result of polling one feed once."""

    feed_id: str
    new: int = 0
    duplicates: int = 0
    error: str | None = None
    not_modified: bool = False


class Poller:
    """Polls the configured feeds and produces each new article once."""

    def __init__(self, config: FeedsConfig, sink: ArticleSink, *, max_concurrency: int = 20) -> None:
        self.feeds = [feed for feed in config.feeds if feed.enabled]
        self.sink = sink
        self.state: dict[str, FeedState] = {feed.id or "": FeedState() for feed in self.feeds}
        self._slots = asyncio.Semaphore(max_concurrency)

    async def _fetch(self, client: httpx.AsyncClient, feed: Feed, state: FeedState) -> FetchResult:
        if not feed.is_remote:
            return await asyncio.to_thread(fetch_file, feed.url)
        async with self._slots:
            return await fetch_http(client, feed.url, etag=state.etag, last_modified=state.last_modified)

    async def poll_feed(self, client: httpx.AsyncClient, feed: Feed) -> PollOutcome:
        """Fetch, parse and produce one feed's new items."""
        feed_id = feed.id or ""
        state = self.state[feed_id]
        outcome = PollOutcome(feed_id)
        fetched = await self._fetch(client, feed, state)
        if fetched.not_modified:
            outcome.not_modified = True
            return self._succeeded(feed, state, outcome)
        if not fetched.ok:
            return self._failed(feed, state, outcome, fetched.error or "fetch", fetched.detail)
        parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.headers, feed.url)
        if parsed.error:
            return self._failed(feed, state, outcome, parsed.error, parsed.detail)
        now = datetime.now(UTC)
        articles, batch_ids = [], set()
        for entry in parsed.entries:
            article = to_article(
                entry,
                feed_id=feed_id,
                feed_tags=feed.tags,
                source=feed.name or parsed.title or feed_id,
                language=feed.tags.get("lang") or parsed.language,
                fetched_at=now,
            )
            if article["id"] in state.seen or article["id"] in batch_ids:
                outcome.duplicates += 1
                continue
            batch_ids.add(article["id"])
            articles.append(article)
        if articles:
            done, failed = await asyncio.to_thread(self.sink.send_all, articles)
            state.seen.update(done)  # a failed send stays unseen, so the next poll sends it again
            outcome.new = len(done)
            if failed:
                return self._failed(feed, state, outcome, "produce", f"{len(failed)} articles not acknowledged")
        state.etag = fetched.headers.get("etag") or state.etag
        state.last_modified = fetched.headers.get("last-modified") or state.last_modified
        return self._succeeded(feed, state, outcome)

    def _succeeded(self, feed: Feed, state: FeedState, outcome: PollOutcome) -> PollOutcome:
        if state.last_error:
            log.info("feed %s recovered after %d failures", feed.id, state.failures)
        state.failures, state.last_error = 0, None
        interval = feed.interval or 300.0
        state.next_poll = time.monotonic() + interval * random.uniform(0.9, 1.1)
        log.info(
            "feed %s: %d new, %d already seen%s",
            feed.id,
            outcome.new,
            outcome.duplicates,
            " (not modified)" if outcome.not_modified else "",
        )
        return outcome

    def _failed(self, feed: Feed, state: FeedState, outcome: PollOutcome, reason: str, detail: str) -> PollOutcome:
        if state.last_error != reason:  # log once per change of state, not once per poll
            log.warning("feed %s failed: %s (%s)", feed.id, reason, detail)
        state.failures += 1
        state.last_error = reason
        interval = feed.interval or 300.0
        backoff = min(interval * 2 ** min(state.failures, 10), 6 * 3600.0)
        state.next_poll = time.monotonic() + backoff * random.uniform(0.9, 1.1)
        outcome.error = reason
        return outcome

    async def poll_once(self) -> list[PollOutcome]:
        """Poll every enabled feed once, concurrently."""
        async with make_client() as client:
            return list(await asyncio.gather(*(self.poll_feed(client, feed) for feed in self.feeds)))

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Poll each feed whenever it is due until ``stop`` is set."""
        stop = stop or asyncio.Event()
        async with make_client() as client:
            running: dict[str, asyncio.Task[PollOutcome]] = {}
            while not stop.is_set():
                now = time.monotonic()
                for feed in self.feeds:
                    feed_id = feed.id or ""
                    if feed_id not in running and self.state[feed_id].next_poll <= now:
                        running[feed_id] = asyncio.create_task(self.poll_feed(client, feed))
                for feed_id, task in list(running.items()):
                    if task.done():
                        del running[feed_id]
                        if task.exception():
                            log.error("feed %s: unexpected error", feed_id, exc_info=task.exception())
                            self.state[feed_id].next_poll = time.monotonic() + 60
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
            for task in running.values():
                task.cancel()
