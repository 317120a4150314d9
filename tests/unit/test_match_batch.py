"""The classify agent's batches (agents/batch.py): one matches message per rule, in article order, within bounds."""

from __future__ import annotations

import json

from newswatch.agents.batch import BATCH_OVERHEAD, MatchBatch, batch_message
from newswatch.agents.decode import decode_matches


def match(rule: str, n: int, pad: int = 0) -> tuple[bytes, bytes]:
    value = {"alert": {"rule": {"id": rule}, "alert_id": f"{rule}-{n}", "pad": "x" * pad}, "story": {"fp": n}}
    return rule.encode(), json.dumps(value).encode()


def ids(value: bytes) -> list[str]:
    return [m["alert"]["alert_id"] for m in decode_matches(value) or []]


def test_one_message_per_rule_in_article_order() -> None:
    """A rule's alerts come out in the order its articles came in, whatever other rules matched between them."""
    batch = MatchBatch()
    batch.add([match("drones", 1), match("ceasefire", 1)])
    batch.add([])  # an article that matched nothing
    batch.add([match("drones", 3)])
    assert [(key, ids(value)) for key, value in batch.take()] == [
        (b"drones", ["drones-1", "drones-3"]),
        (b"ceasefire", ["ceasefire-1"]),
    ]
    assert batch.take() == []  # emptied


def test_a_rule_message_never_outgrows_the_byte_cap_but_one_big_match_still_goes() -> None:
    """The cap keeps each message far under the producer's 1 MB limit; a match bigger than the cap on its own is
    sent alone rather than refused (match_messages already keeps it under that limit)."""
    one, two = match("drones", 1, pad=400), match("drones", 2, pad=400)
    cap = BATCH_OVERHEAD + len(one[1]) + 1 + len(two[1])  # exactly two of them, comma included
    batch = MatchBatch(max_bytes=cap)
    assert batch.fits([one])
    batch.add([one])
    assert batch.fits([two]) and batch.fits([match("ceasefire", 1, pad=5_000)])
    batch.add([two])
    assert not batch.fits([match("drones", 3, pad=400)])  # a third would outgrow drones' message
    assert batch.fits([match("ceasefire", 3, pad=5_000)])  # another rule's first match always fits
    messages = batch.take()
    assert len(messages[0][1]) == cap == len(batch_message([one[1], two[1]]))
