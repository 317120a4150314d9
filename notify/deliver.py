"""One alert to one sink: tries with back-off and jitter up to the sink's bound, through its circuit breaker;
the result is delivered, or the reason the alert goes to the dead-letter topic."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from newswatch.notify.alertmanager import Alertmanager
from newswatch.notify.attempt import Outcome
from newswatch.notify.config import AlertmanagerSink, NotifyConfig, WebhookSink
from newswatch.notify.metrics import NotifyMetrics
from newswatch.notify.retry import CircuitBreaker, backoff
from newswatch.notify.webhook import Webhook

log = logging.getLogger(__name__)


class Endpoint(Protocol):
    """What a sink module provides: a name, its config, and one try of one alert."""

    name: str
    config: WebhookSink | AlertmanagerSink

    def wants(self, alert: Mapping[str, Any]) -> bool: ...

    async def deliver_once(self, client: httpx.AsyncClient, alert: Mapping[str, Any], raw: bytes) -> Outcome: ...


def build(name: str, config: WebhookSink | AlertmanagerSink) -> Endpoint:
    """The sink object for one entry of the notify file (adding a kind of sink is adding a module and a line)."""
    if isinstance(config, AlertmanagerSink):
        return Alertmanager(name, config)
    return Webhook(name, config)


@dataclass(frozen=True)
class Result:
    """How one alert's delivery to one sink ended."""

    sink: str
    delivered: bool
    reason: str = "ok"  # the last try's reason when not delivered
    attempts: int = 0
    detail: str = ""
    skipped: bool = False


class Sinks:
    """The configured sinks with their circuit breakers; ``update(config)`` after a reload keeps the breaker of
    every sink whose definition did not change."""

    def __init__(self, metrics: NotifyMetrics, clock: Callable[[], float] = time.monotonic) -> None:
        self.metrics = metrics
        self.clock = clock
        self.endpoints: dict[str, Endpoint] = {}
        self.breakers: dict[str, CircuitBreaker] = {}

    def update(self, config: NotifyConfig) -> None:
        """Take the sinks of ``config``; a sink removed from the file gets no new alert."""
        for name, sink in config.sinks.items():
            old = self.endpoints.get(name)
            if old is not None and old.config == sink:
                continue
            self.endpoints[name] = build(name, sink)
            self.breakers[name] = CircuitBreaker(sink.circuit, self.clock)
            self.metrics.sink(name)
        for name in set(self.endpoints) - set(config.sinks):
            del self.endpoints[name], self.breakers[name]


class Deliverer:
    """Delivers one alert to one sink, retrying as its config says (``sleep`` and ``rand`` injectable for tests)."""

    def __init__(
        self,
        sinks: Sinks,
        client: httpx.AsyncClient,
        metrics: NotifyMetrics,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sinks = sinks
        self.client = client
        self.metrics = metrics
        self.sleep = sleep
        self.rand = rand

    async def _try(self, endpoint: Endpoint, breaker: CircuitBreaker, alert: Mapping[str, Any], raw: bytes) -> Outcome:
        """One try through the breaker: an answer that is not worth retrying (a 400) still shows the endpoint is up;
        a try that sent nothing (a template that failed, a cancellation) leaves the breaker as it was."""
        try:
            outcome = await endpoint.deliver_once(self.client, alert, raw)
        except BaseException:
            breaker.released()
            raise
        if outcome.delivered or (not outcome.retry and outcome.reason.startswith("http_")):
            breaker.succeeded()
        elif outcome.retry:
            breaker.failed()
        else:
            breaker.released()
        return outcome

    async def deliver(self, name: str, alert: Mapping[str, Any], raw: bytes, read_at: float) -> Result:
        """Try until delivered, a hopeless answer, or the sink's last try; ``read_at``: when the alert was read
        (``time.monotonic()``), the start of the latency measured."""
        endpoint, breaker = self.sinks.endpoints.get(name), self.sinks.breakers.get(name)
        if endpoint is None or breaker is None:
            return Result(name, False, "no_sink", detail=f"sink '{name}' is no longer in the notify file")
        if not endpoint.wants(alert):
            self.metrics.skipped.labels(name).inc()
            return Result(name, True, "skipped", skipped=True)
        retry = endpoint.config.retry
        outcome = Outcome(False, "not_tried")
        last_sent = "none"  # the last answer the endpoint itself gave, for the dead letter's detail
        for attempt in range(1, retry.attempts + 1):
            if attempt > 1:
                self.metrics.retried.labels(name).inc()
            if breaker.allow():
                outcome = await self._try(endpoint, breaker, alert, raw)
                last_sent = outcome.reason
            else:
                outcome = Outcome(False, "circuit_open", retry=True, detail=f"last error: {last_sent}")
            self.metrics.circuit_open.labels(name).set(1 if breaker.is_open else 0)
            if outcome.delivered:
                self.metrics.delivered.labels(name).inc()
                self.metrics.latency.labels(name).observe(max(0.0, time.monotonic() - read_at))
                return Result(name, True, attempts=attempt)
            self.metrics.failed.labels(name, outcome.reason).inc()
            if not outcome.retry or attempt == retry.attempts:
                break
            wait = backoff(retry, attempt, self.rand)
            if outcome.wait is not None:  # the receiver said when: not sooner, but within our bound
                wait = min(max(wait, outcome.wait), retry.max_backoff)
            await self.sleep(wait)
        log.warning(
            "alert %s not delivered to %s after %d tries (%s); to the dead letters",
            alert.get("alert_id"), name, attempt, outcome.reason,
        )  # fmt: skip
        return Result(name, False, outcome.reason, attempt, outcome.detail)
