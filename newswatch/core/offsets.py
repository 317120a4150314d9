"""Which offset of a partition may be committed when messages are handled concurrently and finish in any order:
the lowest still in flight, else the one after the last received (at least once: a crash re-reads, never skips).

Shared by the consumers that handle messages concurrently (the full-text stage, the notifier).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import TopicPartition


class Offsets:
    """Per partition: the offsets in flight and the next one after everything received; what may be committed."""

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, set[int]] = {}
        self.next: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}

    def started(self, tp: TopicPartition, offset: int) -> None:
        """``offset`` of ``tp`` is now in flight."""
        self.pending.setdefault(tp, set()).add(offset)
        self.next[tp] = max(self.next.get(tp, 0), offset + 1)

    def finished(self, tp: TopicPartition, offset: int) -> None:
        """``offset`` of ``tp`` is done (its article acknowledged on the articles topic)."""
        self.pending.get(tp, set()).discard(offset)

    def committable(self, partitions: Iterable[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """The offsets to commit now: per partition, the lowest in flight, else the next after the last received."""
        out = {}
        for tp in list(partitions) if partitions is not None else list(self.next):
            if tp not in self.next:
                continue
            pending = self.pending.get(tp)
            position = min(pending) if pending else self.next[tp]
            if position != self.committed.get(tp):
                out[tp] = position
        return out

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Stop tracking ``partitions`` (revoked: another stage instance owns them now)."""
        for tp in partitions:
            self.pending.pop(tp, None)
            self.next.pop(tp, None)
            self.committed.pop(tp, None)
