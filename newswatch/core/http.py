"""Fetch one URL's bytes from the open web: async HTTP with conditional GET, timeouts, a whole-fetch deadline, a
size cap in bytes, bounded redirects that may only lead to http(s), and no private-network targets unless allowed.

Used by the pollers (feeds), the full-text stage (article pages) and ``rules test --url``. Fetching is ours, not
feedparser's (its urllib fetch has no size cap or async); feedparser only parses the bytes and headers handed to it.

SSRF policy: a feed URL or a redirect is whatever a third party wrote, so every connection the client opens first
resolves the host once, refuses it if any of its addresses is not public (``core/addresses.py``: loopback, private,
link-local, CGNAT, reserved, multicast, or an IPv6 address that carries one of those as embedded IPv4), and then
connects to one of the addresses it checked: there is no second DNS resolution for a rebinding server to answer
differently. Hosts listed in ``FetchLimits.private_allowed`` are exempt.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from newswatch import __version__
from newswatch.core.addresses import CheckedTransport, is_public, resolve

if TYPE_CHECKING:
    from newswatch.core.settings import Settings

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
    # Refused unless listed in private_allowed: hosts with any non-public address (addresses.is_public). Enforced by the
    # client that make_client builds from these limits, on every connection it opens.
    refuse_private: bool = True
    # "host" or "host:port" entries exempt from refuse_private (a local page server the operator runs on purpose)
    private_allowed: frozenset[str] = frozenset()

    def exempt(self, host: str, port: int) -> bool:
        """True when ``host`` (at ``port``) may be reached whatever its addresses."""
        return not self.refuse_private or host in self.private_allowed or f"{host}:{port}" in self.private_allowed


def allowed_hosts(setting: str) -> frozenset[str]:
    """A ``private_allowed`` set from a comma-separated setting ("host" or "host:port" entries)."""
    return frozenset(entry.strip().lower() for entry in setting.split(",") if entry.strip())


def poller_limits(settings: Settings) -> FetchLimits:
    """The pollers' fetch limits, from the settings; ``rules test --url`` fetches through the same."""
    return FetchLimits(
        max_bytes=settings.poller_max_bytes,
        refuse_private=settings.poller_refuse_private,
        private_allowed=allowed_hosts(settings.poller_private_allowed),
    )


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
    """The shared HTTP client: gzip/deflate accepted, a descriptive User-Agent, timeouts, and every connection it
    opens checked against the private-address policy of ``limits`` (module docstring).

    Redirects are followed by ``fetch_http`` itself, one hop at a time, so each target is checked. The client
    connects directly: ``HTTP(S)_PROXY`` variables are not used, since a proxy would resolve the names itself.
    """
    limits = limits or FetchLimits()
    pool = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=False,
        transport=CheckedTransport(partial(check_addresses, limits=limits), pool),
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


def check_addresses(host: str, port: int, addresses: list[str], *, limits: FetchLimits) -> None:
    """Raise ``FetchRefused("private_address")`` when any of ``host``'s addresses is not public, unless the
    limits do not refuse private addresses or exempt the host."""
    if limits.exempt(host.lower(), port):
        return
    refused = [a for a in addresses if not is_public(a)]
    if refused:
        what = host[:200] if refused[0] == host else f"{host[:200]} resolves to {refused[0]}, which"
        raise FetchRefused("private_address", f"{what} is not a public address; refused")


def check_scheme(url: str) -> None:
    """Refuse a URL that is not http(s) with a host: what a redirect may lead to."""
    _http_parts(url)


def _http_parts(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL; ``FetchRefused("bad_redirect")`` for anything else."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme, parts.hostname, parts.port  # .port raises unless a number in range
    except ValueError:  # "http://[": not a URL at all
        scheme, host, port = "", None, None
    if scheme not in ("http", "https") or not host:
        raise FetchRefused("bad_redirect", f"refused '{url[:200]}': only http(s) URLs with a host are fetched")
    return scheme, host, _port(scheme, port)


async def check_target(url: str, limits: FetchLimits) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address unless ``limits`` allow it.

    For refusing early (the full-text stage asks no robots.txt of a refused host). The connection itself is checked
    again by the client (``make_client``), on the addresses it connects to, so this look-up is not what protects.
    Raises only ``FetchRefused``, whatever the URL.
    """
    _, host, port = _http_parts(url)
    if limits.exempt(host, port):
        return
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused("connection", f"cannot resolve {host[:200]}: {exc}") from None
    check_addresses(host, port, addresses, limits=limits)


def _port(scheme: str, port: int | None) -> int:
    return port or (443 if scheme == "https" else 80)


async def fetch_http(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits | None = None,
) -> FetchResult:
    """GET ``url`` conditionally; every failure becomes a FetchResult with a reason, never an exception.

    ``client`` is one ``make_client`` built: the private-address policy is enforced where it connects.
    """
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
        check_scheme(url)  # the address is checked by the client when it connects
        async with client.stream("GET", url, headers=headers) as response:
            progress.status = response.status_code
            if response.status_code in REDIRECTS and "location" in response.headers:
                progress.downloaded += response.num_bytes_downloaded
                url = _redirect_target(url, response.headers["location"])
                continue
            result = await _read(response, limits, progress)
            result.url = url
            return result
    raise FetchRefused("redirects", f"more than {limits.max_redirects} redirects")


def _redirect_target(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError:  # e.g. an unclosed "[" in the host
        raise FetchRefused("bad_redirect", f"refused to follow a redirect to '{location[:200]}'") from None


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
