"""What the poller remembers about each feed, and how that memory is written as one JSON record.

The record is the value of the feed's key on the compacted ``feed-state`` topic (see ``poller/statestore.py``):
validators for conditional GET, the ids already produced (bounded), the last success, the failure count and
the last error, the next poll time and item counters for ``newswatch feeds status``.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1
# Seen ids kept per feed. A feed lists its latest items (rarely more than a few hundred), so remembering the
# last 1,000 (or twice the feed's current length, whichever is larger) is enough to never re-produce an item
# that is still listed, while a feed that has churned through thousands of stories cannot grow the record.
DEFAULT_SEEN_LIMIT = 1_000
# However the limit is set and however long a feed is, no more ids than this (35 bytes each in the record):
# the record stays under MAX_RECORD_BYTES, which Kafka takes (a 1.4 MB record failed to write, and after a
# restart the whole feed was produced again).
MAX_SEEN = 8_000
MAX_RECORD_BYTES = 512 * 1024
MAX_VALIDATOR_BYTES = 1_024  # an ETag or Last-Modified longer than this is not kept (no conditional GET)
MAX_DETAIL_BYTES = 500


def id_digest(article_id: str) -> str:
    """A short fixed-size fingerprint of an article id: 16 bytes of SHA-256, hex.

    Ids are URLs of any length chosen by the feed; storing digests keeps a state record small and bounded
    (1,000 ids are ~35 kB) whatever a hostile feed puts in its guids.
    """
    return hashlib.sha256(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class FeedState:
    """One feed's memory between polls (and across restarts, through the ``feed-state`` topic)."""

    etag: str | None = None
    last_modified: str | None = None
    # digest -> None, oldest first: an ordered set, so trimming drops the ids seen longest ago
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    last_success: float | None = None  # epoch seconds
    last_attempt: float | None = None
    failures: int = 0
    last_error: str | None = None  # a reason from the fixed vocabulary (it is also a metric label)
    last_error_detail: str = ""
    next_poll: float = 0.0  # epoch seconds, so a restarted poller keeps a feed's back-off
    items: int = 0  # items in the last document fetched
    produced: int = 0  # articles produced from this feed, all time

    def has_seen(self, article_id: str) -> bool:
        """True when this article id was produced before."""
        return id_digest(article_id) in self.seen

    def remember(self, article_ids: list[str], *, current: int = 0, limit: int = DEFAULT_SEEN_LIMIT) -> None:
        """Mark ``article_ids`` as produced; keep the newest ``max(limit, 2 * current)`` ids.

        ``current`` is the number of items in the document just fetched: ids still listed there are never
        trimmed, however long the feed is.
        """
        for article_id in article_ids:
            digest = id_digest(article_id)
            self.seen[digest] = None
            self.seen.move_to_end(digest)
        self.trim(min(max(limit, 2 * current), MAX_SEEN))

    def touch(self, article_ids: list[str]) -> None:
        """Move ids listed again in the current document to the newest end, so trimming keeps them."""
        for article_id in article_ids:
            digest = id_digest(article_id)
            if digest in self.seen:
                self.seen.move_to_end(digest)

    def trim(self, keep: int) -> None:
        """Forget the oldest ids beyond ``keep``."""
        while len(self.seen) > keep:
            self.seen.popitem(last=False)

    # -- serialisation ---------------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The record written to ``feed-state`` (JSON, versioned)."""
        doc: dict[str, Any] = {
            "v": STATE_VERSION,
            "etag": _validator(self.etag),
            "last_modified": _validator(self.last_modified),
            "seen": list(self.seen),
            "last_success": self.last_success,
            "last_attempt": self.last_attempt,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_detail": _cut(self.last_error_detail, MAX_DETAIL_BYTES),
            "next_poll": self.next_poll,
            "items": self.items,
            "produced": self.produced,
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> FeedState:
        """Read a record written by ``to_json``; unknown fields are ignored so older pollers read newer records."""
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("v") != STATE_VERSION:
            raise ValueError(f"unsupported feed-state record version {doc.get('v') if isinstance(doc, dict) else '?'}")
        return cls(
            etag=doc.get("etag"),
            last_modified=doc.get("last_modified"),
            seen=OrderedDict.fromkeys(str(d) for d in (doc.get("seen") or [])[-MAX_SEEN:]),
            last_success=doc.get("last_success"),
            last_attempt=doc.get("last_attempt"),
            failures=int(doc.get("failures") or 0),
            last_error=doc.get("last_error"),
            last_error_detail=doc.get("last_error_detail") or "",
            next_poll=float(doc.get("next_poll") or 0.0),
            items=int(doc.get("items") or 0),
            produced=int(doc.get("produced") or 0),
        )


def _validator(value: str | None) -> str | None:
    if value is None or len(value.encode("utf-8", "surrogatepass")) > MAX_VALIDATOR_BYTES:
        return None
    return value


def _cut(text: str, limit: int) -> str:
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore")
