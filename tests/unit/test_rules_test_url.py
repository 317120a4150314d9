"""``newswatch rules test --url`` fetches through the pollers' limits: a hostile page costs at most the size cap.

Before, it used a bare ``httpx.get`` that followed redirects anywhere and inflated any gzip body whole: a 306 KB
body took 3.4 GB of memory and 18 s, and a link to loopback was fetched. The user would see the machine swap, or an
internal page classified.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from newswatch.cli import app
from newswatch.core.settings import get_settings
from newswatch.local.feedserver import FeedServer, Route

CAP = 1024 * 1024
# 64 MB of HTML once inflated, 64 kB on the wire
BOMB = gzip.compress(b"<html><body><p>" + b"drone " * (64 * 1024 * 1024 // 6), compresslevel=9)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.routes["/bomb"] = Route(body=BOMB, content_type="text/html", headers={"Content-Encoding": "gzip"})
        running.routes["/story"] = Route(
            body="<html><body><p>A drone struck a fuel depot in Kyiv — café</p></body></html>".encode(),
            content_type="text/html",
        )
        yield running


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the command's settings see (read once per process otherwise)."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def rules_test_url(url: str) -> tuple[int, str, int]:
    """Run ``rules test --url url --json``; its exit code, its output (stdout and stderr) and peak traced memory."""
    tracemalloc.start()
    try:
        result = CliRunner().invoke(app, ["rules", "test", "--url", url, "--json"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result.exit_code, result.output, peak


def test_a_gzip_bomb_stops_at_the_size_cap(server: FeedServer, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("NEWSWATCH_POLLER_MAX_BYTES", str(CAP))
    settings_env.setenv("NEWSWATCH_POLLER_PRIVATE_ALLOWED", f"127.0.0.1:{server.port}")
    code, output, peak = rules_test_url(server.url("/bomb"))
    assert code == 2
    assert "too_large" in output and f"larger than {CAP} bytes" in output
    assert peak < 16 * CAP, f"peak traced memory {peak / 1e6:.0f} MB for a {CAP // 1024} kB cap"


def test_loopback_is_refused_unless_allowed(server: FeedServer, settings_env: pytest.MonkeyPatch) -> None:
    code, output, _ = rules_test_url(server.url("/story"))
    assert code == 2 and "private_address" in output
    assert server.hits["/story"] == 0


def test_a_redirect_to_loopback_is_refused(server: FeedServer, settings_env: pytest.MonkeyPatch) -> None:
    with FeedServer() as internal:
        internal.routes["/admin"] = Route(body=b"<p>internal</p>", content_type="text/html")
        server.routes["/moved"] = Route(redirect=internal.url("/admin"))
        settings_env.setenv("NEWSWATCH_POLLER_PRIVATE_ALLOWED", f"127.0.0.1:{server.port}")
        code, output, _ = rules_test_url(server.url("/moved"))
        assert code == 2 and "private_address" in output
        assert internal.hits["/admin"] == 0


def test_an_allowed_page_is_fetched_decoded_and_classified(
    server: FeedServer, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("NEWSWATCH_POLLER_PRIVATE_ALLOWED", f"127.0.0.1:{server.port}")
    code, output, _ = rules_test_url(server.url("/story"))
    assert code == 0, output
    assert "fuel depot in Kyiv" in output and "café" in output


def test_the_body_is_decoded_in_the_charset_its_headers_name() -> None:
    from newswatch.matcher.cli import _decoded

    assert _decoded("café".encode("cp1252"), {"content-type": "text/html; charset=windows-1252"}) == "café"
    assert _decoded("café".encode(), {"content-type": "text/html; charset=no-such-charset"}) == "café"
    assert _decoded(b"caf\xe9", {}) == "caf\ufffd"


def test_only_http_urls_are_taken(settings_env: pytest.MonkeyPatch) -> None:
    code, output, _ = rules_test_url("file:///etc/passwd")
    assert code == 2 and "http:// or https://" in output
