"""A local HTTP feed server for tests and the bench: aiohttp on 127.0.0.1 in a background thread.

Each path is a ``Route`` saying what to answer: a body with validators (so conditional GETs get 304s), a fixed
status, a redirect, a trickle of bytes, an endless body. Routes can be swapped while the server runs.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    etag: str | None = None  # when set, a matching If-None-Match gets a 304
    last_modified: str | None = None  # when set, a matching If-Modified-Since gets a 304
    always_304: bool = False
    redirect: str | None = None  # Location of a 302
    trickle: float | None = None  # seconds between single bytes of the body
    endless: bool = False  # stream 64 kB chunks until the client hangs up (no Content-Length)
    gzip: bool = False  # send the body gzip-compressed
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """``with FeedServer() as server: server.routes['/a'] = Route(...); server.url('/a')``."""

    def __init__(self, dynamic: Callable[[str], Route | None] | None = None, *, port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        # asked for paths not in ``routes``: pages made on demand (thousands of them would not fit in memory)
        self.dynamic = dynamic
        self.hits: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()  # requests that carried a validator
        self.port = port  # 0: any free port, known once started
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-server", daemon=True)
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        except OSError:  # the port is taken
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        route = self.routes.get(path)
        if route is None and self.dynamic is not None:
            route = self.dynamic(path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
            self.conditional[path] += 1
        if route.always_304 or (
            (route.etag and request.headers.get("If-None-Match") == route.etag)
            or (route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified)
        ):
            return web.Response(status=304)
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.redirect is not None:
            return web.Response(status=302, headers={**headers, "Location": route.redirect})
        if route.trickle is not None or route.endless:
            return await self._stream(request, route, headers)
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(status=route.status, body=body, content_type=route.content_type, headers=headers)

    async def _stream(self, request: web.Request, route: Route, headers: dict[str, str]) -> web.StreamResponse:
        response = web.StreamResponse(status=route.status, headers={**headers, "Content-Type": route.content_type})
        await response.prepare(request)
        try:
            if route.endless:
                chunk = b"<garbage>" + b"x" * 65_000
                while True:
                    await response.write(chunk)
                    await asyncio.sleep(0)  # let the server answer other feeds meanwhile
            else:
                for byte in route.body:
                    await response.write(bytes([byte]))
                    await asyncio.sleep(route.trickle or 0)
        except ConnectionError:
            pass  # the poller hung up, as it should
        return response
