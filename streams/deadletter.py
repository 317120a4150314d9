"""Bad input messages: skipped, logged once, copied to the dead-letter topic, counted once the copy is delivered.

What a failing copy does (a decision, see docs/alerts.md "Bad messages"): nothing stops the agent, which goes
on with the next message; the failure is counted (``newswatch_dead_letter_errors_total``) and logged. But the copy
is noted in the delivery ledger (streams/delivery.py) like any other send, so the worker never commits past a
bad message whose copy the broker did not acknowledge: it restarts and copies it again, and a bad message is
never lost without a trace. A copy is cut to fit the dead-letter topic (``MAX_COPY_BYTES``), so a message's size
alone can never make its copy fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from faust import TopicT

from newswatch.streams.delivery import DeliveryLedger
from newswatch.streams.metrics import WorkerMetrics

log = logging.getLogger(__name__)

# A copy's value and key are cut to these (the header ``newswatch-truncated`` says so, ``newswatch-bytes`` gives
# the original size): with the headers, a copy stays well under Faust's 1,000,000-byte limit and the topic's
# default 1 MB ``max.message.bytes``, however large the message was.
MAX_COPY_BYTES = 512_000
MAX_COPY_KEY_BYTES = 4_096


def dead_letter_copy(
    key: bytes | None, value: bytes | None, reason: str, topic: str, partition: int, offset: int
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """The key, value and headers of the dead-letter copy of one message: cut to fit, with where it came from."""
    value = value or b""
    cut_key = key[:MAX_COPY_KEY_BYTES] if key is not None else None
    truncated = len(value) > MAX_COPY_BYTES or (key is not None and len(key) > MAX_COPY_KEY_BYTES)
    headers = [
        ("newswatch-error", reason.encode()),
        ("newswatch-topic", topic.encode()),
        ("newswatch-partition", str(partition).encode()),
        ("newswatch-offset", str(offset).encode()),
        ("newswatch-bytes", str(len(value)).encode()),
        ("newswatch-truncated", b"true" if truncated else b"false"),
    ]
    return cut_key, value[:MAX_COPY_BYTES], headers


class DeadLetters:
    """The dead-letter handling both agents share: one ``skip`` per bad message."""

    def __init__(self, topic: TopicT | None, metrics: WorkerMetrics, deliveries: DeliveryLedger) -> None:
        self.topic, self.metrics, self.deliveries = topic, metrics, deliveries

    async def skip(self, message: Any, reason: str, *, error: BaseException | None = None) -> None:
        """Skip the Faust ``message`` (``event.message``) for ``reason`` (and the ``error`` that made it unusable,
        when one did): log it, copy it, count it. Never raises."""
        value = message.value if isinstance(message.value, bytes | bytearray) else b""
        key = message.key if isinstance(message.key, bytes | bytearray) else None
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        # the error's text may quote the message: cut, and escaped so that it cannot forge log lines
        detail = f": {type(error).__name__}: {str(error)[:200]!a}" if error is not None else ""
        log.warning("skipped message at %s: %s (%d bytes)%s", where, reason, len(value), detail)
        if self.topic is None:  # no dead-letter topic configured: logged and counted only
            self.metrics.dead_letters.labels(reason).inc()
            return
        copy_key, copy_value, headers = dead_letter_copy(
            bytes(key) if key is not None else None,
            bytes(value),
            reason,
            message.topic,
            message.partition,
            message.offset,
        )
        try:
            sent: Awaitable[Any] = await self.topic.send(key=copy_key, value=copy_value, headers=headers)
        except Exception as exc:  # noqa: BLE001 - the agent goes on; the ledger refuses the commit (module doc)
            self._failed(reason, where, exc)
            self.deliveries.failed(exc)
            return
        future = asyncio.ensure_future(sent)
        future.add_done_callback(lambda done: self._settled(done, reason, where))
        self.deliveries.add(future)

    def _settled(self, future: asyncio.Future[Any], reason: str, where: str) -> None:
        if future.cancelled():
            self._failed(reason, where, asyncio.CancelledError())
        elif (exc := future.exception()) is not None:
            self._failed(reason, where, exc)
        else:
            self.metrics.dead_letters.labels(reason).inc()  # counted once delivered, as the metric promises

    def _failed(self, reason: str, where: str, exc: BaseException) -> None:
        self.metrics.dead_letter_errors.labels(reason).inc()
        log.error(
            "could not copy the message at %s to the dead-letter topic (%s: %s); not committing past it",
            where,
            type(exc).__name__,
            ascii(str(exc)[:200]),
        )
