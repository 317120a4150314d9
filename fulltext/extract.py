"""Main text out of a web page, in worker processes so that a pathological page costs bounded time and memory.

trafilatura does the extraction (F1 0.92 on its 900-page benchmark, ahead of readability-lxml, goose3 and
newspaper4k). It runs in ``spawn``-ed processes: each has an address-space cap (``RLIMIT_AS``), and a page that
takes longer than the timeout gets its process killed and replaced, which no thread could offer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection


class ExtractFailed(Exception):
    """No text came out; ``reason`` is the metric label (extract_timeout, extract_error)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def extract_text(html: bytes, url: str | None = None) -> str:
    """The main text of ``html`` (paragraphs separated by blank lines), or "" when none is found.

    Comments, tables and navigation are left out: the rules should read the story, not the page around it.
    No ``deduplicate``: trafilatura's is a process-wide cache of paragraphs seen in *earlier* pages, so a
    long-running stage would drop a site's recurring background paragraph from every later story (found by the
    quality test: RT's stock paragraph on the Minsk agreements vanished after a few pages, and with it 4% of the
    ceasefire recall).
    """
    import trafilatura  # heavy (lxml, justext, dateparser): imported in the worker processes only

    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        deduplicate=False,
        with_metadata=False,
    )
    return (text or "").replace("\n", "\n\n").strip()


def _serve(conn: Connection, memory_bytes: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            html, url = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, str] = ("ok", extract_text(html, url))
        except MemoryError:
            reply = ("error", "out of memory")
        except Exception as exc:  # noqa: BLE001  # a page that breaks the parser is a fallback, not a crash
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        del html
        conn.send(reply)


class _Worker:
    """One extraction process and the pipe to it; replaced whole when it hangs or dies."""

    def __init__(self, memory_bytes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, memory_bytes), daemon=True, name="nw-extract")
        self.process.start()
        child.close()

    def run(self, html: bytes, url: str | None, timeout: float) -> str:
        try:
            self.conn.send((html, url))
            if not self.conn.poll(timeout):
                raise ExtractFailed("extract_timeout", f"no text within {timeout:g} s")
            status, value = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            raise ExtractFailed("extract_error", f"extraction process died ({type(exc).__name__})") from None
        if status != "ok":
            raise ExtractFailed("extract_error", value)
        return value

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(5)


@dataclass(frozen=True)
class ExtractLimits:
    """What one extraction may cost."""

    timeout: float = 10.0
    memory_bytes: int = 1024 * 1024 * 1024


class Extractor:
    """A pool of extraction processes: ``await extractor.text(html, url)``; close with ``extractor.close()``.

    Processes start lazily (the first pages pay the spawn and trafilatura import, about a second).
    """

    def __init__(self, processes: int = 2, limits: ExtractLimits | None = None) -> None:
        self.limits = limits or ExtractLimits()
        self.size = max(1, processes)
        self._idle: list[_Worker] = []
        self._started = 0
        self._free: asyncio.Semaphore | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def text(self, html: bytes, url: str | None = None) -> str:
        """The page's main text; ExtractFailed when it timed out, ran out of memory or broke the parser."""
        if self._free is None:
            self._free = asyncio.Semaphore(self.size)
        async with self._free:
            worker = await asyncio.to_thread(self._take)
            healthy = False
            try:
                result = await asyncio.to_thread(worker.run, html, url, self.limits.timeout)
                healthy = True
                return result
            except ExtractFailed as exc:
                healthy = exc.reason == "extract_error" and worker.process.is_alive()
                raise
            finally:
                self._give_back(worker, healthy)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self._started += 1
        return _Worker(self.limits.memory_bytes)

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        if healthy and not self._closed:
            with self._lock:
                self._idle.append(worker)
            return
        worker.stop()  # hung or dead: the next page gets a fresh process

    @property
    def started(self) -> int:
        """Processes started so far (more than the pool size means some were replaced)."""
        return self._started

    def close(self) -> None:
        """Stop every idle process (busy ones stop when their page is done)."""
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()
