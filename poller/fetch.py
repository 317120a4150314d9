"""Fetch one feed's bytes: async HTTP with conditional GET, timeouts, a size cap and bounded redirects.

Fetching is ours, not feedparser's (its urllib fetch has no size cap or async); feedparser only parses
the bytes and headers handed to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from newswatch import __version__

USER_AGENT = f"newswatch/{__version__} (+https://github.com/newswatch/newswatch; feed monitor)"
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5


@dataclass
class FetchResult:
    """What one fetch gave: a body to parse, a 304 (``not_modified``), or an ``error`` reason."""

    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    not_modified: bool = False
    error: str | None = None  # short, fixed vocabulary: it becomes a metric label
    detail: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def make_client(*, connect_timeout: float = 10.0, read_timeout: float = 30.0) -> httpx.AsyncClient:
    """The shared HTTP client: gzip/deflate accepted, a descriptive User-Agent, bounded redirects."""
    return httpx.AsyncClient(
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        },
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        import time

        return max(0.0, when.timestamp() - time.time())


async def fetch_http(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BYTES,
    deadline: float = 60.0,
) -> FetchResult:
    """GET ``url`` conditionally; the whole fetch, however slowly the server trickles, ends by ``deadline`` s."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        return await asyncio.wait_for(_get(client, url, headers, max_bytes), timeout=deadline)
    except TimeoutError:
        return FetchResult(error="timeout", detail=f"no complete response within {deadline:.0f} s")
    except httpx.TooManyRedirects:
        return FetchResult(error="redirects", detail=f"more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException as exc:
        return FetchResult(error="timeout", detail=type(exc).__name__)
    except httpx.HTTPError as exc:
        return FetchResult(error="connection", detail=f"{type(exc).__name__}: {exc}")


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int) -> FetchResult:
    async with client.stream("GET", url, headers=headers) as response:
        result = FetchResult(status=response.status_code, headers=dict(response.headers))
        if response.status_code == 304:
            result.not_modified = True
            return result
        if response.status_code >= 400:
            result.error = "http_status"
            result.detail = f"HTTP {response.status_code}"
            if response.status_code in (429, 503):
                result.retry_after = _retry_after(response.headers.get("Retry-After"))
            return result
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return FetchResult(
                status=response.status_code, error="too_large", detail=f"Content-Length {declared} > {max_bytes} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                return FetchResult(
                    status=response.status_code, error="too_large", detail=f"body larger than {max_bytes} bytes"
                )
            chunks.append(chunk)
        result.body = b"".join(chunks)
        return result


def fetch_file(path: str, *, max_bytes: int = MAX_BYTES) -> FetchResult:
    """Read a local feed file, with the same size cap as HTTP."""
    try:
        local = Path(path)
        if local.stat().st_size > max_bytes:
            return FetchResult(error="too_large", detail=f"{path} is larger than {max_bytes} bytes")
        return FetchResult(body=local.read_bytes(), status=200)
    except OSError as exc:
        return FetchResult(error="file", detail=f"{path}: {exc.strerror or exc}")
