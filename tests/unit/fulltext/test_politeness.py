"""Per-host limits and robots.txt: what keeps the full-text stage a polite visitor."""

from __future__ import annotations

import asyncio
import itertools
import time

from newswatch.core.http import FetchResult
from newswatch.fulltext.hosts import HostGate
from newswatch.fulltext.robots import RobotsCache


def test_a_host_gets_at_most_its_slots_at_once_and_other_hosts_do_not_wait() -> None:
    gate = HostGate(per_host=2, interval=0.0)
    busy = {"a": 0, "b": 0}
    most = {"a": 0, "b": 0}

    async def fetch(host: str) -> None:
        async with gate.turn(host):
            busy[host] += 1
            most[host] = max(most[host], busy[host])
            await asyncio.sleep(0.02)
            busy[host] -= 1

    async def main() -> float:
        started = time.monotonic()
        await asyncio.gather(*(fetch("a") for _ in range(6)), fetch("b"))
        return time.monotonic() - started

    took = asyncio.run(main())
    assert most == {"a": 2, "b": 1}
    assert took < 0.2  # 6 on "a" two at a time: 3 rounds of 20 ms


def test_starts_on_one_host_are_spaced_by_its_interval_and_the_queue_is_reported() -> None:
    queues: list[tuple[str, int]] = []
    gate = HostGate(per_host=4, interval=0.05, on_queue=lambda host, n: queues.append((host, n)))
    starts: list[float] = []

    async def fetch() -> None:
        async with gate.turn("a"):
            starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(fetch() for _ in range(4)))

    asyncio.run(main())
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= 0.045 for gap in gaps), gaps
    assert ("a", 3) in queues and queues[-1] == ("a", 0)  # three waited while the first went


def result(status: int, body: bytes = b"") -> FetchResult:
    return FetchResult(body=body, status=status, error=None if status < 300 else "http_status")


def robots(answer: FetchResult) -> tuple[RobotsCache, list[str]]:
    asked: list[str] = []

    async def fetch(url: str) -> FetchResult:
        asked.append(url)
        await asyncio.sleep(0.01)
        return answer

    return RobotsCache(fetch), asked


def test_robots_disallow_is_respected_and_read_once_per_site() -> None:
    cache, asked = robots(result(200, b"User-agent: *\nDisallow: /private/\n"))

    async def main() -> list[bool]:
        urls = ["https://s.example/private/1", "https://s.example/news/2", "https://S.example/private/3"]
        return [v.allowed for v in await asyncio.gather(*(cache.check(u) for u in urls))]

    assert asyncio.run(main()) == [False, True, False]
    assert asked == ["https://s.example/robots.txt"]


def test_robots_rules_for_newswatch_by_name_apply() -> None:
    cache, _ = robots(result(200, b"User-agent: newswatch\nDisallow: /\n\nUser-agent: *\nAllow: /\n"))
    verdict = asyncio.run(cache.check("https://s.example/news/1"))
    assert not verdict.allowed and verdict.reason == "robots"


def test_no_robots_txt_allows_and_a_failing_server_disallows() -> None:
    missing, _ = robots(result(404))
    assert asyncio.run(missing.check("https://s.example/a")).allowed
    failing, _ = robots(result(503))
    verdict = asyncio.run(failing.check("https://s.example/a"))
    assert not verdict.allowed and verdict.reason == "robots_unreachable"
