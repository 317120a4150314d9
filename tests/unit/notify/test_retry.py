"""Back-off with jitter, Retry-After, and the circuit breaker's states, on a fake clock."""

from __future__ import annotations

from newswatch.notify.config import Circuit, Retry
from newswatch.notify.retry import CircuitBreaker, backoff, retry_after


def test_backoff_grows_exponentially_up_to_its_bound_and_jitter_stays_below_it() -> None:
    retry = Retry(initial_backoff=1, max_backoff=10, multiplier=2)
    assert [backoff(retry, n, lambda: 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff(retry, 3, lambda: 0.5) == 2.0
    assert backoff(retry, 3, lambda: 0.0) == 0.0


def test_retry_after_in_seconds_is_capped_and_a_date_is_ignored() -> None:
    assert retry_after("7", 60) == 7
    assert retry_after("7000", 60) == 60
    assert retry_after("-3", 60) == 0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) is None
    assert retry_after("nan", 60) is None
    assert retry_after(None, 60) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_failures_in_a_row_and_lets_one_probe_through_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Circuit(failures=3, cooldown=30), clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    breaker.succeeded()  # a success resets the count: failures must be in a row
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.is_open and not breaker.allow()
    clock.now = 29.9
    assert not breaker.allow()
    clock.now = 30.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time
    breaker.failed()  # a failed probe opens it again for a whole cooldown
    clock.now = 59.0
    assert not breaker.allow()
    clock.now = 60.0
    assert breaker.allow()
    breaker.succeeded()
    assert not breaker.is_open and breaker.allow() and breaker.allow()


def test_a_probe_that_sent_nothing_hands_the_probe_on() -> None:
    """A probe whose alert's template failed made no request: the next try must get to probe, or the circuit
    would stay open for good."""
    clock = Clock()
    breaker = CircuitBreaker(Circuit(failures=1, cooldown=10), clock)
    breaker.failed()
    clock.now = 10
    assert breaker.allow()
    breaker.released()
    assert breaker.allow()
