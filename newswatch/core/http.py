"""Fetch one URL's bytes from the open web: async HTTP with conditional GET, timeouts, a whole-fetch deadline, a
size cap in bytes, bounded redirects that may only lead to http(s), and no private-network targets unless allowed.

Used by the pollers (feeds), the full-text stage (article pages) and ``rules test --url``. Fetching is ours, not
feedparser's (its urllib fetch has no size cap or async); feedparser only parses the bytes and headers handed to it.

SSRF policy: a feed URL or a redirect is whatever a third party wrote, so every connection the client opens first
resolves the host once, refuses it if any of its addresses is not public (loopback, private, link-local, CGNAT,
reserved, multicast, or an IPv6 address that carries one of those as embedded IPv4), and then connects to one of the
addresses it checked: there is no second DNS resolution for a rebinding server to answer differently.
"""

from __future__ import annotations

import asyncio
import socket
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newswatch import __version__

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
    # Refused unless listed in private_allowed: hosts with any non-public address (see is_public). Enforced by the
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
        transport=_CheckedTransport(limits, pool),
    )


class _CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool given ``_CheckedBackend`` to open connections with."""

    def __init__(self, limits: FetchLimits, pool: httpx.Limits) -> None:
        super().__init__(limits=pool)
        # httpx has no parameter for httpcore's network backend (the one place that sees the host and the address
        # it connects to), so its pool is replaced by one built the same way with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=pool.max_connections,
            max_keepalive_connections=pool.max_keepalive_connections,
            keepalive_expiry=pool.keepalive_expiry,
            network_backend=_CheckedBackend(limits),
        )


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections the SSRF-safe way: resolve once, check, connect to a checked address.

    TLS still names the host (httpcore starts it on the returned stream with the URL's host for SNI and the
    certificate check), and so does the Host header: only the resolution is ours.
    """

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host} did not resolve within {timeout} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        check_addresses(host, port, addresses, self.limits)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("newswatch fetches over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


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


# IPv6 ranges that carry an IPv4 address in their last 32 bits, which is what a connection reaches (through a
# NAT64 gateway or an IPv4 host); Python does not unwrap these itself.
_NAT64 = ip_network("64:ff9b::/96")
# Not public whatever Python's tables (3.11 calls them global): local-use NAT64 (RFC 8215), Teredo (its IPv4 is
# obfuscated), deprecated site-local, documentation (RFC 9637) and SRv6 SIDs.
_NOT_PUBLIC = tuple(ip_network(n) for n in ("64:ff9b:1::/48", "2001::/32", "fec0::/10", "3fff::/20", "5f00::/16"))


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address ``ip`` carries: IPv4-mapped ``::ffff:a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``,
    IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d`` or 6to4 ``2002:AABB:CCDD::``; else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 in (0, 0xFFFF0000) or ip in _NAT64:
        return IPv4Address(value & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for anything else, unparsable text included."""
    try:
        ip = ip_address(address.split("%", 1)[0])  # a scope (fe80::1%eth0) says nothing about the address
    except ValueError:
        return False
    if isinstance(ip, IPv6Address):
        if any(ip in network for network in _NOT_PUBLIC):
            return False
        carried = embedded_ipv4(ip)
        if carried is not None:
            return carried.is_global and not carried.is_multicast
    return ip.is_global and not ip.is_multicast


def check_addresses(host: str, port: int, addresses: list[str], limits: FetchLimits) -> None:
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
    check_addresses(host, port, addresses, limits)


def _port(scheme: str, port: int | None) -> int:
    return port or (443 if scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    """``host``'s addresses, in the resolver's order: one DNS look-up (none for an IP literal)."""
    try:
        ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return [host]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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
