"""Fuzzing the address check: whatever URL a feed or a redirect names and whatever its name resolves to, the check
answers with the documented refusal (``FetchRefused``) or lets it through, and never lets a non-public address
through. A crash here would stop a page's read in the full-text stage; a miss would be an SSRF."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv6Address
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch.core import http
from newswatch.core.addresses import is_public
from newswatch.core.http import FetchLimits, FetchRefused, check_scheme, check_target

pytestmark = pytest.mark.fuzz

REFUSING = FetchLimits(refuse_private=True)

ipv4 = st.ip_addresses(v=4)
# addresses near the interesting ranges as well as anywhere: private, loopback, embedded-IPv4 prefixes
special = st.sampled_from(
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::"]
)
addresses = st.one_of(st.ip_addresses().map(str), special, st.text(max_size=40))
hosts = st.one_of(
    st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.text(max_size=30),
)
urls = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "file", "javascript", ""]),
        hosts,
        st.one_of(st.just(""), st.integers(-5, 70_000).map(lambda p: f":{p}"), st.text(max_size=6).map(":{}".format)),
        st.text(max_size=20),
    ),
)


def embeddings(ip: IPv4Address) -> list[IPv6Address]:
    """``ip`` carried in each IPv6 form the check unwraps."""
    value = int(ip)
    return [
        IPv6Address(0xFFFF << 32 | value),  # ::ffff:a.b.c.d
        IPv6Address(0xFFFF << 48 | value),  # ::ffff:0:a.b.c.d
        IPv6Address(value),  # ::a.b.c.d
        IPv6Address(0x0064FF9B << 96 | value),  # 64:ff9b::a.b.c.d
        IPv6Address(0x2002 << 112 | value << 80),  # 2002:aabb:ccdd::
    ]


@given(addresses)
def test_is_public_answers_a_bool_for_any_text(address: str) -> None:
    assert is_public(address) in (True, False)


@given(ipv4)
def test_an_embedded_ipv4_is_judged_as_the_ipv4_it_carries(ip: IPv4Address) -> None:
    assert {is_public(str(wrapped)) for wrapped in embeddings(ip)} == {is_public(str(ip))}


@given(urls, st.lists(addresses, min_size=1, max_size=4))
def test_check_target_refuses_or_passes_and_never_passes_a_private_address(url: str, answer: list[str]) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return answer

    with mock.patch.object(http, "resolve", resolve):
        try:
            asyncio.run(check_target(url, REFUSING))
        except FetchRefused as refused:
            assert refused.reason in {"bad_redirect", "private_address", "connection"}
            return
    assert all(is_public(a) for a in answer)


@given(urls)
def test_check_scheme_refuses_or_passes(url: str) -> None:
    try:
        check_scheme(url)
    except FetchRefused as refused:
        assert refused.reason == "bad_redirect"
