"""The worker's Kafka consumer: Faust's aiokafka consumer, made to never skip a message of a contiguous topic.

Why: Faust (faust-streaming 0.15) tracks the last offset it handed to an agent per partition (its "read
offset"). When a message arrives further ahead than the next one, Faust takes the offsets in between for a gap
that needs no processing (as transaction markers and compacted records are), marks them acknowledged and
commits past them; messages at lower offsets that arrive later are dropped as already read. A record prefetched
before a rebalance and delivered after the recovery's seek back to the committed offset is such a message: it
poisons the read offset, and everything between the committed offset and it is lost for good. This is how a
restarted worker lost (article, rule) pairs and then sat idle (issue 13).

The articles topic (written by the pollers) and, at least once, the matches topic (written by the workers
without transactions) have no gaps: every offset is a message. So on those a message that skips ahead is not
delivered; the partition is sought back to the next offset, and the messages in between are read again in
order. The only gap such a topic can have is retention deleting messages before they were read, and that one is
accepted (and logged) rather than sought into forever.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

log = logging.getLogger(__name__)


def next_step(offset: int, read: int | None, earliest: int | None = None) -> str:
    """What to do with a message of a contiguous topic at ``offset`` when Faust's read offset is ``read``.

    ``deliver``: it is the next one (or nothing is known yet); ``reseek``: it skips ahead, go back to
    ``read + 1``; ``deleted``: it skips ahead because retention deleted the messages in between (``earliest``
    is the partition's first offset), so deliver it. ``earliest`` is only needed, and only fetched, for a skip.
    """
    if read is None or offset <= read + 1:
        return "deliver"
    if earliest is not None and earliest > read + 1:
        return "deleted"
    return "reseek"


class ContiguousConsumer(faust_aiokafka.Consumer):
    """Delivers the messages of the topics ``contiguous(topic)`` names in offset order, without gaps."""

    contiguous: Callable[[str], bool] = staticmethod(lambda topic: False)
    on_gap: Callable[[str, int], None] = staticmethod(lambda topic, skipped: None)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's ``getmany``, minus the messages of a contiguous topic that would skip ahead of the next one."""
        resumed: dict[TP, int] = {}  # partitions sought back in this batch: their later records are stale too
        async for tp, message in super().getmany(timeout):
            if tp in resumed:
                continue
            read = self._read_offset.get(tp)
            # Faust's read offset is the committed offset (the next to read) after a seek, the last offset handed
            # to the agent after that: the next message is ``read`` or ``read + 1``.
            if next_step(message.offset, read) == "deliver" or not self.contiguous(tp.topic):
                yield tp, message
                continue
            assert read is not None
            start = (await self.earliest_offsets(tp)).get(tp, 0)
            if next_step(message.offset, read, start) == "deleted":  # nothing to go back to
                log.warning(
                    "partition %s: messages %d..%d were deleted by retention before they were read",
                    tp,
                    read + 1,
                    start - 1,
                )
                self.on_gap(tp.topic, start - read - 1)
                yield tp, message
                continue
            log.warning(
                "partition %s: got offset %d while the next to deliver is %d; re-reading from %d so no message "
                "in between is skipped",
                tp,
                message.offset,
                read + 1,
                read + 1,
            )
            self.on_gap(tp.topic, message.offset - read - 1)
            resumed[tp] = read + 1
            await self.seek(tp, read + 1)


def transport_class(contiguous: Callable[[str], bool], on_gap: Callable[[str, int], None]) -> type[Any]:
    """The aiokafka transport whose consumer is a :class:`ContiguousConsumer` bound to one app's topics and
    metrics (a class per app, so two apps in one process share nothing)."""
    consumer = type(
        "BoundContiguousConsumer",
        (ContiguousConsumer,),
        {"contiguous": staticmethod(contiguous), "on_gap": staticmethod(on_gap)},
    )
    return type("ContiguousTransport", (faust_aiokafka.Transport,), {"Consumer": consumer})
