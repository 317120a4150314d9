"""Fetch one URL's bytes from the open web: async HTTP with conditional GET, timeouts, a whole-fetch deadline, a
size cap in bytes, bounded redirects that may only lead to http(s), and (optionally) no private-network targets.

Used by the pollers (feeds) and the full-text stage (article pages). Fetching is ours, not feedparser's (its urllib
fetch has no size cap or async); feedparser only parses the bytes and headers handed to it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from newswatch import __version__

USER_AGENT = f"newswatch/{__version__} (+https://github.com/newswatch/newswatch; feed monitor)"
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchLimits:
    """How much one fetch may cost: bytes, time and redirects; and whether private addresses are refused."""

    max_bytes: int = MAX_BYTES
    deadline: float = 60.0  # the whole fetch, however slowly a server trickles its bytes
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # between two bytes
    max_redirects: int = MAX_REDIRECTS
    refuse_private: bool = False
    # "host" or "host:port" entries exempt from refuse_private (a local page server the operator runs on purpose)
    private_allowed: frozenset[str] = frozenset()


@dataclass
class FetchResult:
    """What one fetch gave: a body to parse, a 304 (``not_modified``), or an ``error`` reason."""

    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    not_modified: bool = False
    # a short, fixed vocabulary (timeout, too_large, redirects, bad_redirect, private_address, connection,
    # encoding, http_status, file): it becomes a metric label
    error: str | None = None
    detail: str = ""
    retry_after: float | None = None
    url: str = ""  # the URL finally answered, after redirects
    downloaded: int = 0  # bytes on the wire (compressed), for the downloaded-bytes metric
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True unless the fetch failed."""
        return self.error is None

    @property
    def outcome(self) -> str:
        """The metric label: the HTTP status when it answered usefully, else the failure reason."""
        if self.error == "http_status" and self.status is not None:
            return f"http_{self.status}"
        return self.error or str(self.status or 200)


class FetchRefused(Exception):
    """A fetch stopped on purpose; ``reason`` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


FEED_TYPES = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def make_client(
    limits: FetchLimits | None = None,
    *,
    max_connections: int = 50,
    user_agent: str = USER_AGENT,
    accept: str = FEED_TYPES,
) -> httpx.AsyncClient:
    """The shared HTTP client: gzip/deflate accepted, a descriptive User-Agent, timeouts.

    Redirects are followed by ``fetch_http`` itself, one hop at a time, so each target is checked.
    """
    limits = limits or FetchLimits()
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def check_target(url: str, refuse_private: bool, allowed: frozenset[str] = frozenset()) -> None:
    """Refuse a URL that is not http(s), or (when asked) one whose host resolves to a non-public address.

    The name is resolved here and again by httpx when it connects; a DNS server answering differently the
    second time could still slip through, so this is a guard against mistakes and casual SSRF, not a firewall.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("bad_redirect", f"refused to follow a redirect to '{url[:200]}' (only http/https)")
    if not refuse_private:
        return
    host = parts.hostname
    if host in allowed or f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}" in allowed:
        return
    try:
        addresses = [host] if _literal_ip(host) else await _resolve(host, parts.port)
    except OSError as exc:
        raise FetchRefused("connection", f"cannot resolve {host}: {exc}") from None
    if any(_is_private(a) for a in addresses):
        raise FetchRefused("private_address", f"{host} resolves to a private or local address; refused by setting")


def _literal_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int | None) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def fetch_http(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits | None = None,
) -> FetchResult:
    """GET ``url`` conditionally; every failure becomes a FetchResult with a reason, never an exception."""
    limits = limits or FetchLimits()
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    progress = FetchResult(url=url)
    try:
        result = await asyncio.wait_for(_follow(client, url, headers, limits, progress), timeout=limits.deadline)
    except TimeoutError:
        result = FetchResult(error="timeout", detail=f"no complete response within {limits.deadline:.0f} s")
    except FetchRefused as exc:
        result = FetchResult(status=progress.status, error=exc.reason, detail=exc.detail)
    except httpx.TimeoutException as exc:
        result = FetchResult(error="timeout", detail=type(exc).__name__)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
        result = FetchResult(error="connection", detail=f"{type(exc).__name__}: {exc}"[:300])
    result.downloaded = progress.downloaded
    result.duration = time.monotonic() - started
    return result


async def _follow(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], limits: FetchLimits, progress: FetchResult
) -> FetchResult:
    for _hop in range(limits.max_redirects + 1):
        await check_target(url, limits.refuse_private, limits.private_allowed)
        async with client.stream("GET", url, headers=headers) as response:
            progress.status = response.status_code
            if response.status_code in REDIRECTS and "location" in response.headers:
                progress.downloaded += response.num_bytes_downloaded
                url = urljoin(url, response.headers["location"])
                continue
            result = await _read(response, limits, progress)
            result.url = url
            return result
    raise FetchRefused("redirects", f"more than {limits.max_redirects} redirects")


async def _read(response: httpx.Response, limits: FetchLimits, progress: FetchResult) -> FetchResult:
    result = FetchResult(status=response.status_code, headers=dict(response.headers))
    if response.status_code == 304:
        result.not_modified = True
        return result
    if response.status_code >= 300:
        result.error = "http_status"
        result.detail = f"HTTP {response.status_code}"
        if response.status_code in (429, 503):
            result.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return result
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchRefused("too_large", f"Content-Length {declared} > {limits.max_bytes} bytes")
    decoder = _Decoder(response.headers.get("Content-Encoding", ""), limits.max_bytes)
    # Raw bytes, decompressed here with a bound per step: httpx would inflate a whole network chunk at once,
    # and 64 kB of a gzip bomb are 64 MB before any cap could look at them.
    async for raw in response.aiter_raw():
        progress.downloaded = response.num_bytes_downloaded
        decoder.feed(raw)
    decoder.finish()
    progress.downloaded = response.num_bytes_downloaded
    result.body = decoder.body()
    return result


class _Decoder:
    """Undo gzip/deflate content-encoding while keeping the decoded size at most ``max_bytes``."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._deflate_raw_checked = False
        else:  # we only ask for gzip and deflate
            raise FetchRefused("encoding", f"unsupported Content-Encoding '{encoding[:40]}'")
        self.encoding = encoding
        self.max_bytes = max_bytes
        self.size = 0
        self.chunks: list[bytes] = []

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FetchRefused("too_large", f"body larger than {self.max_bytes} bytes")
        self.chunks.append(data)

    def feed(self, raw: bytes) -> None:
        if self._zlib is None:
            self._keep(raw)
            return
        data = raw
        try:
            while data:
                # at most one byte past the cap per step: enough to know the cap is crossed
                out = self._zlib.decompress(data, self.max_bytes - self.size + 1)
                self._keep(out)
                data = self._zlib.unconsumed_tail
        except zlib.error:
            if self.encoding == "deflate" and self.size == 0 and not self._deflate_raw_checked:
                # some servers send raw deflate without the zlib header, as browsers tolerate
                self._deflate_raw_checked = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self.feed(raw)
                return
            raise FetchRefused("encoding", f"corrupt {self.encoding} body") from None

    def finish(self) -> None:
        if self._zlib is not None:
            self._keep(self._zlib.flush())

    def body(self) -> bytes:
        return b"".join(self.chunks)


def fetch_file(path: str, *, max_bytes: int = MAX_BYTES) -> FetchResult:
    """Read a local feed file (named explicitly in the feeds file), with the same size cap as HTTP."""
    try:
        local = Path(path)
        size = local.stat().st_size
        if size > max_bytes:
            return FetchResult(error="too_large", detail=f"{path} is larger than {max_bytes} bytes")
        return FetchResult(body=local.read_bytes(), status=200, downloaded=size, url=path)
    except OSError as exc:
        return FetchResult(error="file", detail=f"{path}: {exc.strerror or exc}")
