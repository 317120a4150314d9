"""One try of one delivery over HTTP, and what its result means: delivered, worth another try, or hopeless."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from newswatch.notify.retry import retry_after

USER_AGENT = "newswatch-notify/1 (+https://newswatch.invalid/notify)"
MAX_RETRY_AFTER = 300.0  # a receiver's Retry-After is followed up to this many seconds (and the retry's own bound)


@dataclass(frozen=True)
class Outcome:
    """What one try gave. ``reason`` is a short, bounded label (a metric label and the dead-letter reason):
    ``http_<status>``, ``timeout``, ``connection``, ``circuit_open``, ``template``, ..."""

    delivered: bool
    reason: str = "ok"
    retry: bool = False  # worth another try (a timeout, a 5xx, a 429); else the alert goes to the dead letters now
    wait: float | None = None  # the receiver's Retry-After, seconds
    detail: str = ""  # for the dead-letter record: never the URL (it may hold a token) nor a secret


DELIVERED = Outcome(True)

# Statuses a later try may get past: the receiver is overloaded, restarting, or asks to be called again.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def from_response(status: int, headers: Mapping[str, str]) -> Outcome:
    """The outcome of a request that got an answer: 2xx delivered; 408/429/5xx retried; other 4xx (and a redirect,
    which a signed POST does not follow) are the sink's configuration or the payload, not worth retrying."""
    if 200 <= status < 300:
        return DELIVERED
    retry = status in _RETRYABLE or status >= 500
    wait = retry_after(headers.get("retry-after"), MAX_RETRY_AFTER) if retry else None
    return Outcome(False, f"http_{status}", retry=retry, wait=wait)


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``url`` within ``timeout`` seconds (connect to last byte); the response body is not read
    beyond what closing the connection needs."""
    try:
        # httpx's timeout bounds each phase; asyncio's bounds the whole, so a receiver trickling bytes is cut too
        async with (
            asyncio.timeout(timeout),
            client.stream(
                "POST", url, content=body, headers={"user-agent": USER_AGENT, **headers}, timeout=timeout
            ) as response,
        ):
            return from_response(response.status_code, response.headers)
    except (httpx.TimeoutException, TimeoutError):
        return Outcome(False, "timeout", retry=True, detail=f"no answer within {timeout:g} s")
    except httpx.TransportError as exc:
        return Outcome(False, "connection", retry=True, detail=type(exc).__name__)
