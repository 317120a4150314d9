"""No silent loss: the worker commits an input offset only once every message sent before it was acknowledged.

Faust's ``topic.send`` returns once the message is queued; the broker's acknowledgement (or the failure, e.g. a
batch that expired while the broker was away) comes later, and Faust then only logs a warning while its commit
goes ahead, past an alert that was never delivered. Every send of the agents is noted here; the consumer
(streams/consumer.py) settles them before each commit and crashes the worker instead of committing when one
failed. The restarted worker reads again from the last commit, so the alert is sent again (same ``alert_id``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


class UndeliveredMessage(Exception):
    """A message the agents sent was not acknowledged by the broker; nothing after it may be committed."""


class DeliveryLedger:
    """Send futures not yet known to have been acknowledged."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[Any]] = set()

    def add(self, sent: Awaitable[Any]) -> None:
        """Note one send (the awaitable ``topic.send`` returned)."""
        future = asyncio.ensure_future(sent)
        if future.done() and not future.cancelled() and future.exception() is None:
            return  # acknowledged already
        self._pending.add(future)
        future.add_done_callback(self._forget_if_ok)

    def failed(self, error: Exception) -> None:
        """Note a send that raised at once: like one the broker refused, no commit may go past it."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_exception(error)
        self._pending.add(future)

    async def send(self, topic: Any, **message: Any) -> None:
        """``await topic.send(**message)``, noted. A send that raises is noted as failed before the error goes on:
        the agent's stream acknowledges the events it was handed when it closes (Faust, ``take_events`` a whole
        batch), and the commit after that must not go past the message that was never sent."""
        try:
            sent = await topic.send(**message)
        except Exception as exc:
            self.failed(exc)
            raise
        self.add(sent)

    def _forget_if_ok(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._pending.discard(future)

    @property
    def pending(self) -> int:
        """Sends not yet acknowledged (or failed and not yet settled)."""
        return len(self._pending)

    async def settle(self, timeout: float = 2.0) -> bool:
        """Wait up to ``timeout`` for every send noted so far: True when all were acknowledged, False when some are
        still waiting (commit later: a send to a topic just created may wait a while for its metadata, and the
        commit must neither go past it nor hold the worker that long); UndeliveredMessage if any failed (the
        failures stay noted, so every later commit refuses too until the worker restarts)."""
        waiting = list(self._pending)
        if not waiting:
            return True
        done, still = await asyncio.wait(waiting, timeout=timeout)
        failed = [f.exception() for f in done if not f.cancelled() and f.exception() is not None]
        if failed:
            raise UndeliveredMessage(
                f"{len(failed)} sent message(s) not acknowledged by Kafka ({type(failed[0]).__name__}: "
                f"{str(failed[0])[:200]}); not committing past them: the worker restarts and sends them again"
            )
        return not still
