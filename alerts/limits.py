"""Byte caps on what the worker copies from an article into the messages and the state it writes.

Whatever arrives on ``articles`` (the pollers cap their articles well below these, but any client may write to
the topic), a match message, an alert and a ``route-state`` entry stay far under Faust's 1,000,000-byte producer
limit: a message over it makes ``send`` raise, which used to stop the agent. The worst case an alert can reach
with every field at its cap is ~0.16 MB (tests/unit/test_worker_input.py builds it).
"""

from __future__ import annotations

import re

MAX_MESSAGE_BYTES = 1_000_000  # Faust's producer_max_request_size: what any message the worker sends must fit in

# Article fields the worker copies into its messages, in UTF-8 bytes (the pollers' own caps must stay at or below
# these). An article with a longer id, link, feed id, date or feed tag is dead-lettered (``field_too_large``)
# rather than cut, so that none is ever silently changed; a longer title or source is cut (agents/decode.py).
MAX_ID_BYTES = 4_096
MAX_URL_BYTES = 4_096
MAX_TITLE_BYTES = 4_096
MAX_SOURCE_BYTES = 1_024
MAX_FEED_ID_BYTES = 512
MAX_SHORT_BYTES = 64  # published, fetched_at, language, text_source
MAX_FEED_TAGS = 32
MAX_FEED_TAG_BYTES = 256  # each key and each value

# What an alert carries of the match: evidence is cut (on a character boundary), never refused.
MAX_TERM_BYTES = 512  # a hit's text and the rule's pattern (a regex term can match a long span)
MAX_SNIPPET_BYTES = 1_024
MAX_ACTORS = 50  # actors listed per alert, most mentioned first
MAX_SOURCES_BYTES = 64 * 1024  # a story's source list, in its route-state entry and in its alerts' ``sources``

_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8_len(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (a lone surrogate counts as 3, as its U+FFFD will)."""
    return len(text.encode("utf-8", "surrogatepass"))


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, on a character boundary."""
    if len(text) * 4 <= max_bytes:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def clean_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a JSON ``"\\ud800"`` escape) replaced by U+FFFD.

    A lone surrogate has no UTF-8 form: the matcher's RE2 scan, ``str.encode`` and every JSON message the worker
    sends would raise on it. U+FFFD, like a surrogate, is neither a word character nor a space, and keeps every
    character offset.
    """
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
