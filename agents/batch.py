"""The matches of a batch of articles, as one matches message per rule.

Why: every message between the classify and route agents costs Faust a send, a fetched event and its bookkeeping;
one message per match held the worker under 80 % of what its matching alone allows (bench/RESULTS.md, issue 20).
The classify agent takes articles in batches (Faust's ``take_events``: a batch closes when it holds
``NEWSWATCH_WORKER_MATCH_BATCH`` articles or after ``NEWSWATCH_WORKER_MATCH_BATCH_WAIT_MS``), adds each article's
matches here, and sends one message per rule when the batch is done, or earlier when a rule's message would
outgrow ``max_bytes``. Faust acknowledges a batch's articles only when the agent asks for the next batch, after
those sends (which are settled before each commit like every send, streams/delivery.py): at least once holds.

The message: ``{"matches": [match, ...]}``, each match as ``match_messages`` (agents/classify.py) encodes it, in the
order the articles came, keyed by the rule id like every single match before it: a rule's matches, and so its
alerts, keep their order.
"""

from __future__ import annotations

MATCHES_PREFIX = b'{"matches":['
MATCHES_SUFFIX = b"]}"
BATCH_OVERHEAD = len(MATCHES_PREFIX) + len(MATCHES_SUFFIX)

# One rule's message: far under Faust's 1 MB cap (a match is 3 kB on average, 0.16 MB at the very most), and under
# the 512,000 bytes a dead-letter copy keeps (streams/deadletter.py), so a refused batch is copied whole.
DEFAULT_MAX_BYTES = 256 * 1024


def batch_message(matches: list[bytes]) -> bytes:
    """The matches message holding ``matches`` (each one match's JSON, as ``match_messages`` encodes it)."""
    return MATCHES_PREFIX + b",".join(matches) + MATCHES_SUFFIX


class MatchBatch:
    """Per rule, the encoded matches not sent yet."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._matches: dict[bytes, list[bytes]] = {}
        self._bytes: dict[bytes, int] = {}

    def fits(self, messages: list[tuple[bytes, bytes]]) -> bool:
        """Whether an article's ``messages`` (key, match) join this batch without a rule's message outgrowing
        ``max_bytes`` (a rule's first match always fits: one match on its own is always sent)."""
        for key, value in messages:
            if key in self._bytes and self._bytes[key] + len(value) + 1 > self.max_bytes:
                return False
        return True

    def add(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Add one article's match messages (key: the rule id)."""
        for key, value in messages:
            self._matches.setdefault(key, []).append(value)
            # the message's size so far: the wrapper, the matches and a comma between each two
            self._bytes[key] = self._bytes.get(key, BATCH_OVERHEAD - 1) + len(value) + 1

    def take(self) -> list[tuple[bytes, bytes]]:
        """The messages to send (key, value), one per rule in the order the rules first matched; the batch is
        empty afterwards."""
        messages = [(key, batch_message(matches)) for key, matches in self._matches.items()]
        self._matches, self._bytes = {}, {}
        return messages
