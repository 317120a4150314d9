"""Which addresses a fetch may connect to, and an httpx transport that connects only to addresses it checked.

The transport resolves each host once, hands the host and its addresses to a check (``core/http.py`` refuses
non-public ones), and connects to one of those same addresses: no second DNS look-up for a rebinding server to
answer differently. TLS and the ``Host`` header still name the host; only the resolution is ours.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import httpcore
import httpx

# Called with (host, port, addresses) before any connection; raises to refuse.
AddressCheck = Callable[[str, int, list[str]], None]

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


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool opening connections through ``CheckedBackend``."""

    def __init__(self, check: AddressCheck, pool: httpx.Limits) -> None:
        super().__init__(limits=pool)
        # httpx has no parameter for httpcore's network backend (the one place that sees the host and the address
        # it connects to), so its pool is replaced by one built the same way with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=pool.max_connections,
            max_keepalive_connections=pool.max_keepalive_connections,
            keepalive_expiry=pool.keepalive_expiry,
            network_backend=CheckedBackend(check),
        )


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections by resolving the host once, checking its addresses, and connecting to one of them.

    httpcore starts TLS on the returned stream with the URL's host for SNI and the certificate check.
    """

    def __init__(self, check: AddressCheck) -> None:
        self.check = check
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A connection to one of ``host``'s checked addresses, tried in the resolver's order."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host} did not resolve within {timeout} s") from None
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        self.check(host, port, addresses)
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
        """Never: fetches go over TCP."""
        raise httpcore.ConnectError("newswatch fetches over TCP only")

    async def sleep(self, seconds: float) -> None:
        """httpcore's pause between connection retries."""
        await asyncio.sleep(seconds)
