"""Back-off between tries and a circuit breaker per sink: plain classes with the clock and randomness injected,
so their behaviour is tested without waiting."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from newswatch.notify.config import Circuit, Retry


def backoff(retry: Retry, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed try number ``attempt`` (1-based) before the next.

    "Full jitter": a random wait between 0 and the exponential bound, so a sink that failed for many alerts at once
    is not hit by all of their retries in the same instant when it comes back.
    """
    bound = min(retry.max_backoff, retry.initial_backoff * retry.multiplier ** (attempt - 1))
    return bound * rand()


def retry_after(value: str | None, cap: float) -> float | None:
    """A ``Retry-After`` header given in seconds, capped at ``cap``; None when absent or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return min(max(seconds, 0.0), cap) if seconds == seconds else None  # NaN is not a wait


class CircuitBreaker:
    """Closed: requests go out. After ``circuit.failures`` failed tries in a row it opens: tries fail at once,
    without a request, for ``circuit.cooldown`` seconds. Then one try is let through (half-open): success closes
    the circuit, failure opens it for another cooldown.

    An endpoint that is down is then asked once per cooldown instead of once per alert and retry, and the alerts
    meanwhile run through their retries quickly to the dead-letter topic instead of holding the consumer.
    """

    def __init__(self, circuit: Circuit, clock: Callable[[], float] = time.monotonic) -> None:
        self.circuit = circuit
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def is_open(self) -> bool:
        """True while tries are refused (the cooldown has not run out, or a probe is in flight)."""
        if self.opened_at is None:
            return False
        return self.probing or self.clock() - self.opened_at < self.circuit.cooldown

    def allow(self) -> bool:
        """Whether a try may send a request now; after the cooldown the first caller gets the probe."""
        if self.opened_at is None:
            return True
        if self.probing or self.clock() - self.opened_at < self.circuit.cooldown:
            return False
        self.probing = True
        return True

    def succeeded(self) -> None:
        """A request succeeded: the circuit closes."""
        self.failures, self.opened_at, self.probing = 0, None, False

    def released(self) -> None:
        """A try let through made no request after all (its body could not be built, it was cancelled): the probe,
        if it was one, goes to the next caller."""
        self.probing = False

    def failed(self) -> None:
        """A request failed: a failed probe, or the ``failures``-th failure in a row, opens the circuit."""
        self.failures += 1
        if self.probing or self.failures >= self.circuit.failures:
            self.opened_at = self.clock()
        self.probing = False
