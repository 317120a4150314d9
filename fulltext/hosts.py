"""Politeness per host: at most N fetches at once and a least interval between two fetches started on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    waiting: int = 0
    users: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostGate:
    """``async with gate.turn(host):`` waits for a free slot on ``host`` and for its interval to pass.

    ``on_queue(host, waiting)`` is told the queue length of a host whenever it changes (the per-host queue gauge).
    Hosts nobody waits for are forgotten, so the gate's memory follows the hosts in use, not all hosts ever seen.
    """

    def __init__(
        self,
        per_host: int = 2,
        interval: float = 1.0,
        *,
        on_queue: Callable[[str, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_host = max(1, per_host)
        self.interval = max(0.0, interval)
        self.on_queue = on_queue or (lambda host, waiting: None)
        self.clock = clock
        self._hosts: dict[str, _Host] = {}

    def waiting(self, host: str) -> int:
        """Fetches of ``host`` waiting for their turn."""
        known = self._hosts.get(host)
        return known.waiting if known else 0

    @asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        """Hold one of ``host``'s slots for the duration of the block."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self.per_host))
        state.users += 1
        state.waiting += 1
        queued = True
        self.on_queue(host, state.waiting)
        try:
            async with state.slots:
                async with state.lock:  # starts are spaced one at a time
                    delay = state.next_start - self.clock()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    state.next_start = self.clock() + self.interval
                state.waiting -= 1
                queued = False
                self.on_queue(host, state.waiting)
                yield
        finally:
            if queued:  # cancelled while waiting
                state.waiting -= 1
                self.on_queue(host, state.waiting)
            state.users -= 1
            self._forget_idle()

    def _forget_idle(self) -> None:
        # a host is forgotten once nobody uses it and its interval has passed: the next fetch may start at once
        now = self.clock()
        for host in [h for h, s in self._hosts.items() if s.users == 0 and s.next_start <= now]:
            del self._hosts[host]
