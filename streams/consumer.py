"""The worker's Kafka consumer: Faust's aiokafka consumer, made to never skip a message.

Why: Faust (faust-streaming 0.15) takes the offset of each record it hands on as the partition's "read offset",
drops any later record below it as already read, and treats a jump past it as a gap that needs no processing
(as transaction markers and compacted records are), acknowledging and committing the offsets in between. A
record fetched before a seek (a rebalance's recovery seeking the streams to their committed offsets and the
table's changelog to its start) but handed on after it poisons the read offset: a restarted worker lost
(article, rule) pairs, and a worker taking over a partition's table state never finished restoring it (issue 13).

Two guards, one per mechanism:

- every seek is noted in a ``SeekLedger``; a fetch that a seek of its partition overtook is dropped and the seek
  applied again, so no record from before a seek is ever handed on after it;
- on the articles topic (written by the pollers) and, at least once, the matches topic (written by the workers
  without transactions) every offset is a message, so a record that skips ahead is not delivered: the partition
  is sought back to the read offset and read again in order. The only gap such a topic can have is retention
  deleting messages before they were read; that one is accepted (and logged) rather than sought into forever.

It also sets how long a fetch may wait at the broker (``FetchWaitConsumerThread``), which Faust fixes at 1,500 ms.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from newswatch.streams.delivery import UndeliveredMessage

log = logging.getLogger(__name__)


class SeekLedger:
    """Every seek of every partition: how many so far (an epoch) and the last target (None: the earliest)."""

    def __init__(self) -> None:
        self.epochs: dict[Any, int] = {}
        self.targets: dict[Any, int | None] = {}

    def sought(self, tp: Any, offset: int | None) -> None:
        """Note a seek of ``tp`` to ``offset``."""
        self.epochs[tp] = self.epochs.get(tp, 0) + 1
        self.targets[tp] = offset

    def snapshot(self) -> dict[Any, int]:
        """The epochs now, to compare with after a fetch."""
        return dict(self.epochs)

    def overtaken(self, before: dict[Any, int], records: Mapping[Any, Any]) -> list[Any]:
        """The partitions with records in ``records`` that were sought since ``before`` was taken."""
        return [tp for tp in records if self.epochs.get(tp, 0) != before.get(tp, 0)]

    def target(self, tp: Any) -> int | None:
        """Where the last seek of ``tp`` went."""
        return self.targets.get(tp)


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


class FetchWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, its aiokafka consumer's ``fetch_max_wait_ms`` set (Faust fixes it at 1,500 ms)."""

    fetch_max_wait_ms: int = 1500

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # read by aiokafka when the consumer starts and builds its fetcher, which is after this
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer


class ContiguousConsumer(faust_aiokafka.Consumer):
    """Delivers the messages of the topics ``contiguous(topic)`` names in offset order, without gaps, and never a
    batch fetched under an assignment that a rebalance has since replaced."""

    contiguous: Callable[[str], bool] = staticmethod(lambda topic: False)
    on_gap: Callable[[str, int], None] = staticmethod(lambda topic, skipped: None)
    on_stale: Callable[[int], None] = staticmethod(lambda records: None)
    _ledger: SeekLedger | None = None
    consumer_thread: type[FetchWaitConsumerThread] = FetchWaitConsumerThread

    def _new_consumer_thread(self) -> Any:
        return self.consumer_thread(self, loop=self.loop, beacon=self.beacon)

    async def _commit_offsets(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        """Faust's commit, once every message the agents sent was acknowledged (streams/delivery.py); when one
        was not, the worker crashes instead of committing past it."""
        deliveries = getattr(self.app, "deliveries", None)
        if deliveries is not None:
            try:
                if not await deliveries.settle():
                    return False  # sends still waiting for the broker: this commit waits for a later round
            except UndeliveredMessage as exc:
                self.on_undelivered()
                await self.crash(exc)
                return False
        return await super()._commit_offsets(offsets, start_new_transaction=start_new_transaction)

    on_undelivered: Callable[[], None] = staticmethod(lambda: None)

    @property
    def ledger(self) -> SeekLedger:
        """This consumer's seeks (made lazily: Faust builds consumers through its own constructor)."""
        if self._ledger is None:
            self._ledger = SeekLedger()
        return self._ledger

    # Every way Faust moves a partition's position goes through one of these three; each is noted in the ledger.

    async def _seek(self, partition: TP, offset: int) -> None:
        self.ledger.sought(partition, offset)
        await super()._seek(partition, offset)

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        """The recovery's seek of changelog partitions; like Faust's ``seek``, it also forgets their read offset,
        so a re-read from the start is not taken for messages already read."""
        for tp, offset in partitions.items():
            self.ledger.sought(tp, offset)
            self._read_offset[tp] = offset if offset else None
        await super().seek_wait(partitions)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        for tp, offset in committed.items():
            self.ledger.sought(tp, offset if offset is not None and offset >= 0 else None)
        return committed

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """Faust's fetch, minus the records of a partition that was sought while they were being fetched.

        Those were read from the position before the seek, or after it: which, nothing tells. Handed on, a record
        from before the seek would become Faust's read offset and every message from the seek's target up to it
        would be dropped as already read (a worker that took over a partition's table state and never finished
        restoring it, "No event received for active tp"; a restarted worker losing matches). So they are dropped
        and the seek applied again: its target is read again either way.
        """
        before = self.ledger.snapshot()
        records = await super()._getmany(active_partitions, timeout)
        overtaken = self.ledger.overtaken(before, records)
        if not overtaken:
            return records
        records = dict(records)
        for tp in overtaken:
            dropped = len(records.pop(tp))
            target = self.ledger.target(tp)
            log.info(
                "partition %s: %d records fetched across a seek dropped; reading again from %s", tp, dropped, target
            )
            self.on_stale(dropped)
            if target is None:
                await self._thread.seek_to_beginning(tp)  # no committed offset: where the consumer starts
            else:
                await super()._seek(tp, target)
        return records

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
            # From ``read`` itself: Faust keeps the committed offset (the next to read) there after a seek and the
            # last delivered one after that, so this may deliver one message twice (at least once) but skips none.
            log.warning(
                "partition %s: got offset %d while the next to deliver is at most %d; re-reading from %d so no "
                "message in between is skipped",
                tp,
                message.offset,
                read + 1,
                read,
            )
            self.on_gap(tp.topic, message.offset - read - 1)
            resumed[tp] = read
            await self.seek(tp, read)


def transport_class(
    contiguous: Callable[[str], bool],
    on_gap: Callable[[str, int], None],
    on_stale: Callable[[int], None] = lambda records: None,
    on_undelivered: Callable[[], None] = lambda: None,
    fetch_max_wait_ms: int = 1500,
) -> type[Any]:
    """The aiokafka transport whose consumer is a :class:`ContiguousConsumer` bound to one app's topics and
    metrics (a class per app, so two apps in one process share nothing)."""
    thread = type("BoundConsumerThread", (FetchWaitConsumerThread,), {"fetch_max_wait_ms": fetch_max_wait_ms})
    consumer = type(
        "BoundContiguousConsumer",
        (ContiguousConsumer,),
        {
            "contiguous": staticmethod(contiguous),
            "on_gap": staticmethod(on_gap),
            "on_stale": staticmethod(on_stale),
            "on_undelivered": staticmethod(on_undelivered),
            "consumer_thread": thread,
        },
    )
    return type("ContiguousTransport", (faust_aiokafka.Transport,), {"Consumer": consumer})
