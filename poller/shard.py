"""``--shard i/n``: split the feeds between ``n`` pollers by a stable hash of the feed id.

Stable means the same on every machine and Python run (not ``hash()``, which is salted per process), so
every poller agrees on who owns which feed without talking to the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """This poller's share: shard ``index`` (0-based) of ``count``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= i < n")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` as a Shard; ValueError with the expected form otherwise."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"'{text}' is not a shard; write i/n, e.g. 0/3 (i counts from 0)") from None
        return cls(index, count)

    def owns(self, feed_id: str) -> bool:
        """True when this shard polls ``feed_id``."""
        return shard_of(feed_id, self.count) == self.index


def shard_of(feed_id: str, count: int) -> int:
    """The shard (0 .. count-1) a feed belongs to."""
    digest = hashlib.sha256(feed_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
