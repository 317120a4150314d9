"""``robots.txt`` per site, read once and kept for a while (RFC 9309, with the standard library's parser)."""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from newswatch.core.http import FetchResult

# The product token sites name in their robots.txt to address us.
AGENT = "newswatch"
# RFC 9309: a crawler must read at least 500 KiB of a robots.txt; we read no more.
MAX_BYTES = 512 * 1024
KEEP_SECONDS = 3600.0  # RFC 9309: a cached robots.txt should not be used for more than 24 h; we re-read hourly
UNREACHABLE_SECONDS = 300.0  # a site whose robots.txt failed is asked again after this
MAX_SITES = 10_000


@dataclass(frozen=True)
class Verdict:
    """Whether a URL may be fetched; ``reason`` says why not ("robots" or "robots_unreachable")."""

    allowed: bool
    reason: str = ""


class _Rules:
    def __init__(self, parser: urllib.robotparser.RobotFileParser | None, allow_all: bool, expires: float) -> None:
        self.parser = parser
        self.allow_all = allow_all
        self.expires = expires

    def verdict(self, url: str) -> Verdict:
        if self.parser is None:
            return Verdict(True) if self.allow_all else Verdict(False, "robots_unreachable")
        return Verdict(True) if self.parser.can_fetch(AGENT, url) else Verdict(False, "robots")


def site_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: the scope one robots.txt governs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


class RobotsCache:
    """Reads each site's robots.txt once per ``KEEP_SECONDS`` through ``fetch`` and answers "may we fetch this URL?".

    As RFC 9309 says: a 4xx answer (no robots.txt) allows everything; a 5xx or an unreachable site disallows
    everything for a while, since a server in trouble should not be crawled.
    """

    def __init__(
        self, fetch: Callable[[str], Awaitable[FetchResult]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fetch = fetch
        self.clock = clock
        self._sites: OrderedDict[str, _Rules] = OrderedDict()
        self._reading: dict[str, asyncio.Future[_Rules]] = {}

    async def check(self, url: str) -> Verdict:
        """The verdict for ``url``; the site's robots.txt is read first if it is not known or has expired."""
        site = site_of(url)
        rules = self._sites.get(site)
        if rules is None or rules.expires <= self.clock():
            rules = await self._read_once(site)
        return rules.verdict(url)

    async def _read_once(self, site: str) -> _Rules:
        # one read per site however many of its pages wait for it
        if site in self._reading:
            return await asyncio.shield(self._reading[site])
        future: asyncio.Future[_Rules] = asyncio.get_running_loop().create_future()
        self._reading[site] = future
        try:
            rules = await self._read(site)
            future.set_result(rules)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters (if any) re-raise it
            raise
        finally:
            del self._reading[site]
        self._sites[site] = rules
        self._sites.move_to_end(site)
        while len(self._sites) > MAX_SITES:
            self._sites.popitem(last=False)
        return rules

    async def _read(self, site: str) -> _Rules:
        result = await self.fetch(f"{site}/robots.txt")
        now = self.clock()
        if result.ok and result.status is not None and 200 <= result.status < 300:
            parser = urllib.robotparser.RobotFileParser()
            parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
            return _Rules(parser, False, now + KEEP_SECONDS)
        if result.status is not None and 400 <= result.status < 500:
            return _Rules(None, True, now + KEEP_SECONDS)
        return _Rules(None, False, now + UNREACHABLE_SECONDS)
