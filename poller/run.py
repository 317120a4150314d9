"""The poll loop: every feed on its own schedule, new items produced once, state saved to ``feed-state``.

Order of a poll matters for "never twice, never lost": articles are sent and acknowledged first, then the
feed's validators and seen ids are updated and its state record written. A send that fails leaves the
validators untouched, so the next poll downloads the full feed again and re-sends what was not taken.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from newswatch.core.http import USER_AGENT, FetchLimits, FetchResult, fetch_file, fetch_http, make_client
from newswatch.poller.articles import clean, to_article
from newswatch.poller.config import Feed, FeedsConfig
from newswatch.poller.metrics import PollerMetrics
from newswatch.poller.parse import parse_feed
from newswatch.poller.produce import ArticleSink
from newswatch.poller.reload import RELOAD_EVERY, LiveFeeds
from newswatch.poller.schedule import PRODUCE_RETRY, START_SPREAD, initial_delay, jittered, next_delay
from newswatch.poller.shard import Shard
from newswatch.poller.state import DEFAULT_SEEN_LIMIT, FeedState
from newswatch.poller.teasers import wants_page

log = logging.getLogger(__name__)

# New articles produced from one feed per poll; the rest (newest first) wait for the next polls. A 1.6 MB feed
# gave 40,000 articles in one poll: one feed must not flood the topic and the workers.
MAX_ITEMS_PER_POLL = 200
# The newest items of a document the poller reads at all; older ones are archive, not news. It bounds the work of
# one poll and the seen ids a feed-state record must hold (twice this many, poller/state.py).
MAX_LISTED = 1_000


@dataclass
class PollOutcome:
    """The result of polling one feed once."""

    feed_id: str
    new: int = 0
    duplicates: int = 0
    error: str | None = None
    not_modified: bool = False
    deferred: int = 0  # new items left for the next poll by the per-poll cap


@dataclass(frozen=True)
class PollerOptions:
    """Knobs of one poller process; the defaults suit a newsroom's 1,000 feeds on one machine."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    concurrency: int = 20  # fetches in flight at once
    seen_limit: int = DEFAULT_SEEN_LIMIT
    state_topic: str | None = None  # None: keep state in memory only (tests of the fetch path)
    shard: Shard = field(default_factory=Shard)
    # New feeds' first polls are spread over this many seconds, but only when there are more of them than
    # fetches run at once: a handful of feeds (the bundled samples) is polled at start, 1,000 are not all at once.
    start_spread: float = START_SPREAD
    # Items whose page is to be read (poller/teasers.py) go here for the full-text stage; None: all to articles.
    teasers_topic: str | None = None
    max_items_per_poll: int = MAX_ITEMS_PER_POLL
    max_listed: int = MAX_LISTED
    user_agent: str = USER_AGENT


class Poller:
    """Polls the feeds this shard owns and produces each new article once."""

    def __init__(
        self,
        config: FeedsConfig,
        sink: ArticleSink,
        *,
        options: PollerOptions | None = None,
        states: dict[str, FeedState] | None = None,
        metrics: PollerMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options or PollerOptions()
        self.sink = sink
        self.metrics = metrics or PollerMetrics(registry=_private_registry())
        self.clock = clock
        self.rng = rng or random.Random()
        self.feeds: list[Feed] = []
        self.state: dict[str, FeedState] = {}
        self.set_feeds(config, states or {})
        self._slots: asyncio.Semaphore | None = None  # made inside the running loop (poll_once/run_forever)

    def set_feeds(self, config: FeedsConfig, saved: dict[str, FeedState] | None = None) -> tuple[list[str], list[str]]:
        """Poll the feeds of ``config`` from now on (at start, and on every valid edit of the feeds file).

        A feed already known keeps its state (schedule, validators, seen ids) even when its settings changed; a
        new one starts from ``saved`` or is scheduled afresh; a removed one is no longer polled (a poll in flight
        finishes). Returns the keys added and removed.
        """
        feeds = [f for f in config.feeds if f.enabled and self.options.shard.owns(f.key)]
        keys = {f.key for f in feeds}
        added = [f for f in feeds if f.key not in self.state]
        removed = [key for key in self.state if key not in keys]
        fresh = [f for f in added if (saved or {}).get(f.key) is None]
        spread = self.options.start_spread if len(fresh) > self.options.concurrency else 0.0
        now = self.clock()
        for feed in added:
            state = (saved or {}).get(feed.key)
            if state is None:
                state = FeedState(next_poll=now + initial_delay(feed.interval or 300.0, self.rng, spread))
            self.state[feed.key] = state
            self._init_metrics(feed.key, state)
        for key in removed:
            del self.state[key]
        self.feeds = feeds
        self.metrics.feeds.set(len(self.feeds))
        self._update_backoff_gauge()
        return [f.key for f in added], removed

    def _init_metrics(self, key: str, state: FeedState) -> None:
        # Every per-feed counter exists at 0 from the start: a counter first scraped at 143 has no increase(),
        # which made "no articles ingested" fire on every fresh start.
        for counter in (
            self.metrics.items_seen,
            self.metrics.items_new,
            self.metrics.items_duplicate,
            self.metrics.downloaded,
            self.metrics.produced,
            self.metrics.teasers,
        ):
            counter.labels(key)
        for reason in ("deferred", "dropped"):
            self.metrics.items_capped.labels(key, reason)
        if state.last_success:
            self.metrics.last_success.labels(key).set(state.last_success)

    # -- one feed --------------------------------------------------------------------------------

    async def _fetch(self, client: httpx.AsyncClient, feed: Feed, state: FeedState) -> FetchResult:
        if not feed.is_remote:
            return await asyncio.to_thread(fetch_file, feed.url, max_bytes=self.options.limits.max_bytes)
        return await fetch_http(
            client, feed.url, etag=state.etag, last_modified=state.last_modified, limits=self.options.limits
        )

    async def poll_feed(self, client: httpx.AsyncClient, feed: Feed) -> PollOutcome:
        """Fetch, parse and produce one feed's new items; whatever the feed sends, return an outcome."""
        state = self.state[feed.key]
        outcome = PollOutcome(feed.key)
        state.last_attempt = self.clock()
        try:
            # parsing happens inside the slot too: it bounds the bodies held in memory at once
            async with self._slots or asyncio.Semaphore(1):
                await self._poll(client, feed, state, outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a hostile feed must never stop the poller
            if state.last_error != "internal":  # a bug of ours: the traceback is worth having, once
                log.warning("feed %s: unexpected error", feed.key, exc_info=True)
            self._failed(feed, state, outcome, "internal", f"{type(exc).__name__}: {exc}"[:300])
        self.metrics.fetches.labels(feed.key, outcome.error or ("304" if outcome.not_modified else "200")).inc()
        await self._save(feed, state)
        return outcome

    async def _poll(self, client: httpx.AsyncClient, feed: Feed, state: FeedState, outcome: PollOutcome) -> None:
        started = time.monotonic()
        fetched = await self._fetch(client, feed, state)
        self.metrics.fetch_duration.observe(time.monotonic() - started)  # file feeds included
        self.metrics.downloaded.labels(feed.key).inc(fetched.downloaded)
        if fetched.not_modified:
            outcome.not_modified = True
            self._succeeded(feed, state, outcome)
            return
        if not fetched.ok:
            self._failed(feed, state, outcome, fetched.outcome, fetched.detail, retry_after=fetched.retry_after)
            return
        parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.headers, fetched.url or feed.url)
        fetched.body = b""  # the parsed entries are all we need from here on
        if parsed.error:
            self._failed(feed, state, outcome, parsed.error, parsed.detail)
            return
        listed = newest_first(parsed.entries)[: self.options.max_listed]
        dropped = len(parsed.entries) - len(listed)
        articles = self._new_articles(feed, listed, parsed.title, parsed.language, state, outcome)
        if len(articles) > self.options.max_items_per_poll:
            outcome.deferred = len(articles) - self.options.max_items_per_poll
            articles = articles[: self.options.max_items_per_poll]
        self._count_capped(feed, outcome.deferred, dropped)
        self.metrics.items_seen.labels(feed.key).inc(len(parsed.entries))
        self.metrics.items_duplicate.labels(feed.key).inc(outcome.duplicates)
        self.metrics.items_new.labels(feed.key).inc(len(articles))
        state.items = len(parsed.entries)
        if articles:
            if self.options.teasers_topic:
                done, failed = await self.sink.send_all(
                    articles, self._topics(feed, articles, self.options.teasers_topic)
                )
            else:
                done, failed = await self.sink.send_all(articles)
            state.remember(done, current=len(listed), limit=self.options.seen_limit)
            state.produced += len(done)
            outcome.new = len(done)
            self.metrics.produced.labels(feed.key).inc(len(done))
            if failed:
                self._failed(feed, state, outcome, "produce", f"{len(failed)} articles not acknowledged by Kafka")
                return
        if outcome.deferred:
            # the next poll must download the document again, not be told "304 Not Modified"
            state.etag = state.last_modified = None
        else:
            state.etag = fetched.headers.get("etag") or None
            state.last_modified = fetched.headers.get("last-modified") or None
        self._succeeded(feed, state, outcome)

    def _count_capped(self, feed: Feed, deferred: int, dropped: int) -> None:
        if deferred:
            self.metrics.items_capped.labels(feed.key, "deferred").inc(deferred)
        if dropped:
            self.metrics.items_capped.labels(feed.key, "dropped").inc(dropped)
        if deferred or dropped:
            log.info(
                "feed %s: %d new items left for the next poll, %d old items beyond the newest %d ignored",
                feed.key,
                deferred,
                dropped,
                self.options.max_listed,
            )

    def _topics(self, feed: Feed, articles: list[dict[str, Any]], teasers: str) -> list[str]:
        topics = [teasers if wants_page(article, feed.fulltext or "auto") else self.sink.topic for article in articles]
        self.metrics.teasers.labels(feed.key).inc(sum(1 for topic in topics if topic != self.sink.topic))
        return topics

    def _new_articles(
        self,
        feed: Feed,
        entries: list[dict[str, Any]],
        title: str,
        language: str | None,
        state: FeedState,
        outcome: PollOutcome,
    ) -> list[dict[str, Any]]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        articles: list[dict[str, Any]] = []
        listed: list[str] = []
        batch: set[str] = set()
        for entry in entries:
            article = to_article(
                entry,
                feed_id=feed.key,
                feed_tags=feed.tags,
                source=feed.name or title or feed.key,
                language=feed.tags.get("lang") or language,
                fetched_at=now,
            )
            listed.append(article["id"])
            if article["id"] in batch or state.has_seen(article["id"]):
                outcome.duplicates += 1
                continue
            batch.add(article["id"])
            articles.append(article)
        state.touch(listed)  # still listed: keep them remembered however many new items arrive
        return articles

    # -- bookkeeping -----------------------------------------------------------------------------

    def _succeeded(self, feed: Feed, state: FeedState, outcome: PollOutcome) -> None:
        now = self.clock()
        if state.last_error:
            log.info("feed %s recovered after %d failures (%s)", feed.key, state.failures, state.last_error)
        state.failures, state.last_error, state.last_error_detail = 0, None, ""
        state.last_success = now
        state.next_poll = now + jittered(feed.interval or 300.0, self.rng)
        self.metrics.last_success.labels(feed.key).set(now)
        self._update_backoff_gauge()
        if outcome.new:
            log.info("feed %s: %d new, %d already seen", feed.key, outcome.new, outcome.duplicates)

    def _failed(
        self,
        feed: Feed,
        state: FeedState,
        outcome: PollOutcome,
        reason: str,
        detail: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        if state.last_error != reason:  # log once per change of state, not once per poll
            log.warning("feed %s failing: %s (%s)", feed.key, reason, detail)
        state.failures += 1
        # the detail quotes what a server or a feed sent; it is shown by `feeds status` on a terminal
        state.last_error, state.last_error_detail = reason, clean(detail)
        interval = feed.interval or 300.0
        if reason == "produce":
            delay = jittered(min(interval, PRODUCE_RETRY), self.rng)
        else:
            delay = next_delay(interval, state.failures, retry_after=retry_after, rng=self.rng)
        state.next_poll = self.clock() + delay
        outcome.error = reason
        self._update_backoff_gauge()

    def _update_backoff_gauge(self) -> None:
        self.metrics.in_backoff.set(sum(1 for s in self.state.values() if s.failures))

    async def _save(self, feed: Feed, state: FeedState) -> None:
        if self.options.state_topic is None:
            return
        record = state.to_json()
        error = await self.sink.send_state(self.options.state_topic, feed.key, record)
        if error is not None:
            self.metrics.state_errors.inc()
            # a WARNING: a feed whose state never lands is produced again, whole, after a restart
            log.warning(
                "state of feed %s not saved (%s: %s; %d bytes); saved again after its next poll",
                feed.key,
                type(error).__name__,
                error,
                len(record),
            )

    # -- loops -----------------------------------------------------------------------------------

    async def poll_once(self) -> list[PollOutcome]:
        """Poll every feed this shard owns once, concurrently (bounded), ignoring the schedule."""
        self._slots = asyncio.Semaphore(self.options.concurrency)
        async with make_client(
            self.options.limits, max_connections=self.options.concurrency, user_agent=self.options.user_agent
        ) as client:
            return list(await asyncio.gather(*(self.poll_feed(client, feed) for feed in self.feeds)))

    async def run_forever(
        self, stop: asyncio.Event | None = None, *, grace: float = 30.0, live: LiveFeeds | None = None
    ) -> None:
        """Poll each feed whenever it is due until ``stop`` is set; then let polls in flight finish (``grace``).

        With ``live``, edits of the feeds file take effect within ``RELOAD_EVERY`` seconds.
        """
        stop = stop or asyncio.Event()
        self._slots = asyncio.Semaphore(self.options.concurrency)
        async with make_client(
            self.options.limits, max_connections=self.options.concurrency, user_agent=self.options.user_agent
        ) as client:
            running: dict[str, asyncio.Task[PollOutcome]] = {}
            checked = time.monotonic()
            while not stop.is_set():
                if live is not None and time.monotonic() - checked >= RELOAD_EVERY:
                    checked = time.monotonic()
                    self._reload(live)
                now = self.clock()
                for feed in self.feeds:
                    if feed.key not in running and self.state[feed.key].next_poll <= now:
                        running[feed.key] = asyncio.create_task(self.poll_feed(client, feed))
                for key, task in list(running.items()):
                    if task.done():
                        del running[key]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.25)
            if running:
                _done, pending = await asyncio.wait(running.values(), timeout=grace)
                for task in pending:
                    task.cancel()

    def _reload(self, live: LiveFeeds) -> None:
        config = live.check()
        self.metrics.feeds_reload_failing.set(1 if live.error else 0)
        if config is None:
            if live.error and live.failed_now:
                self.metrics.feeds_reloads.labels("error").inc()
            return
        added, removed = self.set_feeds(config)
        self.metrics.feeds_reloads.labels("ok").inc()
        log.info(
            "feeds file reloaded: %d feeds (added: %s; removed: %s)",
            len(self.feeds),
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
        )


def newest_first(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` with the newest (by published, else updated, date) first; undated ones after the dated, in
    the document's order (feeds list their newest items first)."""

    def when(entry: dict[str, Any]) -> float:
        for key in ("published_parsed", "updated_parsed"):
            parsed = entry.get(key)
            if parsed:
                try:
                    return float(calendar.timegm(parsed))
                except (OverflowError, ValueError, TypeError):
                    break
        return float("-inf")

    return sorted(entries, key=when, reverse=True)


def _private_registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()
