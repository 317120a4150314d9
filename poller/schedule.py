"""When to poll a feed next: its interval with jitter, exponential back-off after failures, Retry-After.

Plain functions of numbers (and an injectable random source), so the policy is unit-tested without a clock.
"""

from __future__ import annotations

import random

JITTER = 0.1  # ±10 %: feeds configured with the same interval drift apart instead of firing together
MAX_BACKOFF = 6 * 3600.0  # a dead feed is still tried four times a day
MAX_RETRY_AFTER = 24 * 3600.0  # a server cannot park a feed for longer than a day
PRODUCE_RETRY = 30.0  # Kafka, not the feed, failed: try again soon, the feed is not to blame


def jittered(seconds: float, rng: random.Random | None = None, jitter: float = JITTER) -> float:
    """``seconds`` spread uniformly by ±``jitter``."""
    return seconds * (rng or random).uniform(1.0 - jitter, 1.0 + jitter)


def backoff(interval: float, failures: int, *, cap: float = MAX_BACKOFF) -> float:
    """Delay after ``failures`` consecutive failures: the interval doubled per failure, capped at ``cap``.

    The cap never shortens a feed's own interval: a feed polled daily stays daily.
    """
    if failures <= 0:
        return interval
    return max(interval, min(interval * 2.0 ** min(failures, 30), cap))


def next_delay(
    interval: float,
    failures: int,
    *,
    retry_after: float | None = None,
    cap: float = MAX_BACKOFF,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll: back-off with jitter, never sooner than a server's ``Retry-After``."""
    delay = jittered(backoff(interval, failures, cap=cap), rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


START_SPREAD = 60.0  # seconds over which many new feeds' first polls are spread


def initial_delay(interval: float, rng: random.Random | None = None, spread: float = START_SPREAD) -> float:
    """Where in its first interval a feed with no saved schedule starts, so 1,000 feeds do not all fire at once.

    ``spread`` 0 polls at once: what a handful of feeds (fewer than the fetches run concurrently) should do.
    """
    return (rng or random).uniform(0.0, min(interval, max(spread, 0.0)))
