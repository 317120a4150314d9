"""A worker never skips a message of the articles or matches topic (streams/consumer.py), nor stops unnoticed."""

from __future__ import annotations

from newswatch.streams.consumer import next_step


def test_the_next_offset_is_delivered_and_one_that_skips_ahead_is_read_again_from_the_gap() -> None:
    assert next_step(10, None) == "deliver"  # nothing read yet: nothing to compare with
    assert next_step(10, 10) == "deliver"  # right after a seek, the read offset is the next one
    assert next_step(11, 10) == "deliver"  # the one after the last delivered
    assert next_step(9, 10) == "deliver"  # Faust itself drops what it has read already
    # a record prefetched before a rebalance, 500 ahead of the committed offset: Faust would ack the 499 between
    assert next_step(510, 10, earliest=0) == "reseek"
    # retention deleted offsets 11..99 before they were read: going back would loop forever
    assert next_step(120, 10, earliest=100) == "deleted"


def test_a_fetch_overtaken_by_a_seek_of_its_partition_is_dropped_and_the_seek_target_kept() -> None:
    from newswatch.streams.consumer import SeekLedger

    ledger = SeekLedger()
    ledger.sought("changelog-5", 215)  # a standby copy read up to here
    before = ledger.snapshot()  # a fetch starts from 215...
    ledger.sought("changelog-5", 0)  # ...the recovery re-reads the partition from its start meanwhile
    records = {"changelog-5": ["record 215"], "articles-0": ["record 9"]}
    assert ledger.overtaken(before, records) == ["changelog-5"]  # not handed on: it would mark 0..214 as read
    assert ledger.target("changelog-5") == 0  # the seek to apply again
    assert ledger.overtaken(ledger.snapshot(), records) == []  # the next fetch is from the new position
