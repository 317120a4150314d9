"""SSRF: a feed URL or a redirect is a third party's choice, so fetching must never reach a private address.

Each test is a hostile server or name and what a user would have seen without the guard: an internal service
fetched (its status in metrics and ``feeds status``, a port scanner), or a cloud metadata endpoint read.
Servers are local (127.0.0.1) and names are answered by a patched resolver: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest

from newswatch.core.addresses import is_public
from newswatch.core.http import FetchLimits, FetchResult, fetch_http, make_client, poller_limits
from newswatch.core.settings import Settings
from newswatch.local.feedserver import FeedServer, Route

PUBLIC = "93.184.215.14"  # a public address no test connects to: connections to it are refused in-process
# Refusal asked for explicitly where a test is about how it checks, not about its default.
REFUSING = FetchLimits(refuse_private=True)


def fetch(url: str, limits: FetchLimits) -> FetchResult:
    """``fetch_http`` of ``url`` with a client made from the same limits, as the poller does."""

    async def run() -> FetchResult:
        async with make_client(limits) as client:
            return await fetch_http(client, url, limits=limits)

    return asyncio.run(run())


def allowing(server: FeedServer, **changes: Any) -> FetchLimits:
    """The default limits, with only ``server`` allowed past the private-address refusal."""
    return FetchLimits(private_allowed=frozenset({f"127.0.0.1:{server.port}"}), **changes)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.routes["/feed"] = Route(body=b"<rss/>")
        yield running


@pytest.fixture
def internal() -> Iterator[FeedServer]:
    """An internal service on loopback that no feed may reach."""
    with FeedServer() as running:
        running.routes["/admin"] = Route(body=b"internal secrets")
        yield running


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host httpcore opens a TCP connection to; connecting to ``PUBLIC`` fails at once (no network)."""
    opened: list[str] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self: httpcore.AnyIOBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(host)
        if host == PUBLIC:
            raise httpcore.ConnectError(f"the test does not connect to {host}")
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return opened


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Callable[[], str]]) -> list[str]:
    """Answer the names in ``answers`` (each call may answer differently); others as usual. Returns the names asked."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(name)
        address = answers[name]()
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_loopback_feeds_are_refused_by_default_and_never_connected_to(server: FeedServer) -> None:
    # Before: NEWSWATCH_POLLER_REFUSE_PRIVATE defaulted to false and the fetch went through.
    result = fetch(server.url("/feed"), FetchLimits())
    assert result.error == "private_address"
    assert server.hits["/feed"] == 0
    assert Settings.model_fields["poller_refuse_private"].default is True  # what the pollers run with
    assert poller_limits(Settings(poller_refuse_private=True)).refuse_private


def test_the_allowance_lets_exactly_the_listed_server_through(server: FeedServer) -> None:
    assert fetch(server.url("/feed"), allowing(server)).body == b"<rss/>"
    settings = Settings(poller_private_allowed=f" 127.0.0.1:{server.port} , intranet.example ")
    assert poller_limits(settings).private_allowed == {f"127.0.0.1:{server.port}", "intranet.example"}
    assert fetch(server.url("/feed"), poller_limits(settings)).body == b"<rss/>"


def test_a_redirect_to_an_internal_service_is_refused_before_connecting(
    server: FeedServer, internal: FeedServer
) -> None:
    # The case: a feed's 302 to http://127.0.0.1:PORT/internal was followed and its status recorded.
    server.routes["/moved"] = Route(redirect=internal.url("/admin"))
    result = fetch(server.url("/moved"), allowing(server))
    assert result.error == "private_address" and result.body == b""
    assert internal.hits["/admin"] == 0


def test_every_hop_is_checked_not_only_the_first(server: FeedServer, internal: FeedServer) -> None:
    server.routes["/hop-1"] = Route(redirect="/hop-2")
    server.routes["/hop-2"] = Route(redirect="/hop-3")
    server.routes["/hop-3"] = Route(redirect=internal.url("/admin"))
    result = fetch(server.url("/hop-1"), allowing(server))
    assert result.error == "private_address"
    assert server.hits["/hop-3"] == 1 and internal.hits["/admin"] == 0


def test_redirect_hops_stop_after_five_and_only_lead_to_http(server: FeedServer) -> None:
    for hop in range(6):
        server.routes[f"/chain-{hop}"] = Route(redirect=f"/chain-{hop + 1}")
    server.routes["/chain-6"] = Route(body=b"<rss/>")
    assert fetch(server.url("/chain-1"), allowing(server)).body == b"<rss/>"  # 5 redirects
    assert fetch(server.url("/chain-0"), allowing(server)).error == "redirects"  # 6
    for target in ("file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://example.org/"):
        server.routes["/odd"] = Route(redirect=target)
        assert fetch(server.url("/odd"), allowing(server)).error == "bad_redirect", target


def test_dns_rebinding_cannot_reach_loopback(
    monkeypatch: pytest.MonkeyPatch, connects: list[str], internal: FeedServer
) -> None:
    # A name that answers a public address to the check and 127.0.0.1 to the connection. Before: the check
    # resolved it, then httpx resolved it again and connected to the internal service.
    answers = iter([PUBLIC, "127.0.0.1", "127.0.0.1"])
    asked = fake_dns(monkeypatch, {"rebind.test": lambda: next(answers)})
    result = fetch(f"http://rebind.test:{internal.port}/admin", REFUSING)
    assert internal.hits["/admin"] == 0
    assert connects == [PUBLIC]  # the address that was checked, and only it
    assert asked == ["rebind.test"]  # one resolution
    assert result.error == "connection"


def test_a_name_that_answers_loopback_first_is_refused(monkeypatch: pytest.MonkeyPatch, connects: list[str]) -> None:
    fake_dns(monkeypatch, {"evil.test": lambda: "127.0.0.1"})
    assert fetch("http://evil.test/feed", REFUSING).error == "private_address"
    assert connects == []


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:0:127.0.0.1",  # IPv4-translated
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
    ],
)
def test_ipv6_addresses_carrying_a_private_ipv4_are_refused(
    address: str, monkeypatch: pytest.MonkeyPatch, connects: list[str]
) -> None:
    # Before: Python calls most of these "global", so the refusal let them through to a connection attempt.
    fake_dns(monkeypatch, {"wrapped.test": lambda: address})
    assert fetch(f"http://[{address}]/", REFUSING).error == "private_address"
    assert fetch("http://wrapped.test/", REFUSING).error == "private_address"
    assert connects == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address stays usable
        ("2002:808:808::1", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("224.0.0.1", False),  # multicast
        ("ff0e::1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("fec0::1", False),
        ("2001::1", False),  # Teredo
        ("2001:db8::1", False),
        ("not an address", False),
        ("", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pinned connection still does TLS for the name: the certificate names localhost (and 127.0.0.2, not the
    # 127.0.0.1 the server listens on), so a check against the address instead of the name would fail.
    from newswatch.local.tls import make_certs

    certs = make_certs(tmp_path, host="127.0.0.2")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certs.path("broker.pem"), certs.path("broker-key.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    fake_dns(monkeypatch, {"localhost": lambda: "127.0.0.1"})

    async def run() -> FetchResult:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n<rss/>")
            await writer.drain()
            writer.close()

        listening = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
        port = listening.sockets[0].getsockname()[1]
        limits = FetchLimits(private_allowed=frozenset({f"localhost:{port}"}))
        async with listening, make_client(limits) as client:
            return await fetch_http(client, f"https://localhost:{port}/feed", limits=limits)

    result = asyncio.run(run())
    assert result.error is None, result.detail
    assert result.body == b"<rss/>"


@pytest.mark.parametrize("url", ["http://0:A/", "http://[::1/", "https://host:99999/", "ftp://host/", "http:///"])
def test_a_malformed_url_is_refused_not_raised(url: str) -> None:
    # Before: check_target raised ValueError for a bad port or bracket, which the full-text stage does not catch
    # (a page link in a feed could crash its read); now it is the documented refusal.
    from newswatch.core.http import FetchRefused, check_target

    with pytest.raises(FetchRefused) as refused:
        asyncio.run(check_target(url, REFUSING))
    assert refused.value.reason == "bad_redirect"


def test_the_bundled_samples_poll_with_the_refusal_on() -> None:
    # The refusal is on by default; `make run`'s sample feeds are local files (not network fetches), so they need
    # no allowance. Broken, `make run` would show no alerts and `feeds status` private_address for every feed.
    from newswatch.core.settings import shipped
    from newswatch.poller.config import load_feeds
    from newswatch.poller.run import Poller, PollerOptions

    class Sink:
        async def send_all(self, articles: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
            return [a["id"] for a in articles], []

    limits = poller_limits(Settings(poller_refuse_private=True, poller_private_allowed=""))
    poller = Poller(load_feeds(shipped("feeds.yaml")), Sink(), options=PollerOptions(limits=limits))  # type: ignore[arg-type]
    outcomes = asyncio.run(poller.poll_once())
    assert outcomes and all(o.error is None and o.new > 0 for o in outcomes), outcomes


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0/", "http://[::]/", "http://[::1]/"]
)
def test_loopback_spelt_otherwise_is_refused(url: str, connects: list[str]) -> None:
    # Odd spellings of loopback resolve to it; the check judges what the resolver answers, not the spelling.
    assert fetch(url, REFUSING).error == "private_address"
    assert connects == []
