"""Read one article's page politely: robots.txt, per-host limits, retries with back-off, one fetch per URL.

Every way a page can fail ends in a ``Page`` with an ``outcome`` (a metric label) and no text; the stage then
keeps the feed's text. Nothing here raises for a page's sake.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from newswatch.core.http import FetchLimits, FetchRefused, FetchResult, check_target, fetch_http
from newswatch.fulltext.extract import ExtractFailed, Extractor
from newswatch.fulltext.hosts import HostGate
from newswatch.fulltext.metrics import FulltextMetrics
from newswatch.fulltext.robots import MAX_BYTES as ROBOTS_MAX_BYTES
from newswatch.fulltext.robots import RobotsCache

log = logging.getLogger(__name__)

PAGE_TYPES = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
# worth another try: the server or the network may be better in a few seconds
TRANSIENT = {"timeout", "connection", "http_429", "http_500", "http_502", "http_503", "http_504"}
RETRY_AFTER_CAP = 30.0  # a Retry-After longer than this is not waited for: the feed's text is used instead
REMEMBER_SECONDS = 3600.0  # a URL read within this time is not fetched again (the same story in several feeds)
REMEMBER_BYTES = 32 * 1024 * 1024  # text kept for that, at most


@dataclass(frozen=True)
class Page:
    """What reading one page gave: its ``text`` (empty unless ``outcome`` is "extracted") and how it went."""

    outcome: str  # extracted, or the fallback's reason: robots, too_large, not_html, timeout, http_404, ...
    text: str = ""
    status: int | None = None
    url: str = ""  # the URL finally answered, after redirects
    detail: str = ""
    bytes: int = 0  # body size (decompressed)
    fetch_seconds: float = 0.0
    extract_seconds: float = 0.0
    attempts: int = 0

    @property
    def extracted(self) -> bool:
        """True when ``text`` is the page's main text."""
        return self.outcome == "extracted"


@dataclass(frozen=True)
class ReaderOptions:
    """How politely and how far pages are read."""

    limits: FetchLimits = field(
        default_factory=lambda: FetchLimits(max_bytes=5 * 1024 * 1024, deadline=20.0, refuse_private=True)
    )
    per_host: int = 2
    host_interval: float = 1.0
    retries: int = 2
    backoff: float = 2.0  # seconds before the first retry; doubled each time, with jitter
    max_text_bytes: int = 200_000
    respect_robots: bool = True


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _is_html(result: FetchResult) -> bool:
    declared = result.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared:
        return declared in HTML_TYPES
    head = result.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


class PageReader:
    """Turns article URLs into ``Page``s; one instance per stage process, shared by all its in-flight articles."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        extractor: Extractor,
        metrics: FulltextMetrics,
        options: ReaderOptions | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.extractor = extractor
        self.metrics = metrics
        self.options = options or ReaderOptions()
        self.rng = rng or random.Random()
        self.clock = clock
        self.gate = HostGate(self.options.per_host, self.options.host_interval, on_queue=metrics.host_queue_changed)
        self.robots = RobotsCache(self._fetch_robots, clock=clock)
        self._reading: dict[str, asyncio.Future[Page]] = {}
        self._recent: OrderedDict[str, tuple[float, Page]] = OrderedDict()
        self._recent_bytes = 0

    async def read(self, url: str) -> Page:
        """The page at ``url``, read once however many articles ask for it at about the same time."""
        remembered = self._remembered(url)
        if remembered is not None:
            self.metrics.reused.inc()
            return remembered
        if url in self._reading:
            self.metrics.reused.inc()
            return await asyncio.shield(self._reading[url])
        future: asyncio.Future[Page] = asyncio.get_running_loop().create_future()
        self._reading[url] = future
        try:
            page = await self._read(url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._reading[url]
        future.set_result(page)
        self.metrics.pages.labels(page.outcome).inc()
        self._remember(url, page)
        return page

    # -- the one fetch -------------------------------------------------------------------------------

    async def _read(self, url: str) -> Page:
        options = self.options
        try:  # before robots.txt: a refused target must not be asked for its robots.txt either
            await asyncio.wait_for(
                check_target(url, options.limits),
                timeout=options.limits.connect_timeout,
            )
        except FetchRefused as exc:
            return Page(exc.reason, url=url, detail=exc.detail)
        except TimeoutError:
            return Page("timeout", url=url, detail="the host name did not resolve in time")
        if options.respect_robots:
            verdict = await self.robots.check(url)
            if not verdict.allowed:
                return Page(verdict.reason, url=url, detail="disallowed by the site's robots.txt")
        host = (urlsplit(url).hostname or "").lower()
        attempts = 0
        while True:
            attempts += 1
            async with self.gate.turn(host):
                fetched = await fetch_http(self.client, url, limits=options.limits)
            self.metrics.fetch_seconds.observe(fetched.duration)
            self.metrics.downloaded.inc(fetched.downloaded)
            if fetched.ok or fetched.outcome not in TRANSIENT or attempts > options.retries:
                break
            wait = options.backoff * 2 ** (attempts - 1) * (0.5 + self.rng.random())
            if fetched.retry_after is not None:
                if fetched.retry_after > RETRY_AFTER_CAP:
                    break
                wait = max(wait, fetched.retry_after)
            self.metrics.retries.inc()
            await asyncio.sleep(wait)
        common = {"status": fetched.status, "url": fetched.url or url, "fetch_seconds": fetched.duration}
        if not fetched.ok:
            return Page(fetched.outcome, detail=fetched.detail, attempts=attempts, **common)
        size = len(fetched.body)
        self.metrics.page_bytes.observe(size)
        if not _is_html(fetched):
            kind = fetched.headers.get("content-type", "unknown")[:80]
            return Page("not_html", detail=f"Content-Type {kind}", bytes=size, attempts=attempts, **common)
        started = time.monotonic()
        try:
            text = await self.extractor.text(fetched.body, fetched.url or url)
        except ExtractFailed as exc:
            return Page(exc.reason, detail=exc.detail, bytes=size, attempts=attempts, **common)
        finally:
            took = time.monotonic() - started
            self.metrics.extract_seconds.observe(took)
        if not text.strip():
            return Page("empty", detail="no main text found on the page", bytes=size, attempts=attempts, **common)
        text = truncate_utf8(text, options.max_text_bytes)
        return Page("extracted", text=text, bytes=size, extract_seconds=took, attempts=attempts, **common)

    async def _fetch_robots(self, url: str) -> FetchResult:
        limits = self.options.limits
        robots_limits = FetchLimits(
            max_bytes=ROBOTS_MAX_BYTES,
            deadline=min(limits.deadline, 10.0),
            connect_timeout=limits.connect_timeout,
            read_timeout=limits.read_timeout,
            max_redirects=limits.max_redirects,
            refuse_private=limits.refuse_private,
            private_allowed=limits.private_allowed,
        )
        async with self.gate.turn((urlsplit(url).hostname or "").lower()):
            result = await fetch_http(self.client, url, limits=robots_limits)
        self.metrics.robots.labels(result.outcome).inc()
        return result

    # -- one fetch per URL ---------------------------------------------------------------------------

    def _remembered(self, url: str) -> Page | None:
        entry = self._recent.get(url)
        if entry is None:
            return None
        when, page = entry
        if self.clock() - when > REMEMBER_SECONDS:
            return None
        return page

    def _remember(self, url: str, page: Page) -> None:
        if page.outcome in TRANSIENT:
            return  # a later copy of the story may find the server in a better mood
        old = self._recent.pop(url, None)
        if old is not None:
            self._recent_bytes -= len(old[1].text)
        self._recent[url] = (self.clock(), page)
        self._recent_bytes += len(page.text)
        while self._recent and (self._recent_bytes > REMEMBER_BYTES or len(self._recent) > 10_000):
            _, (_, dropped) = self._recent.popitem(last=False)
            self._recent_bytes -= len(dropped.text)
