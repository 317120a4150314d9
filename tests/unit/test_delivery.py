"""No silent loss: a commit waits for every send, and refuses when one was not acknowledged."""

from __future__ import annotations

import asyncio

import pytest

from newswatch.streams.delivery import DeliveryLedger, UndeliveredMessage


def test_acknowledged_sends_are_forgotten_and_a_commit_waits_for_the_rest() -> None:
    async def main() -> None:
        ledger = DeliveryLedger()
        loop = asyncio.get_running_loop()
        done, later = loop.create_future(), loop.create_future()
        done.set_result("metadata")
        ledger.add(done)
        ledger.add(later)
        assert ledger.pending == 1
        assert not await ledger.settle(timeout=0.01)  # still waiting: no commit this round
        loop.call_later(0.05, later.set_result, "metadata")
        assert await ledger.settle()  # returns once the broker acknowledged
        assert later.done() and ledger.pending == 0

    asyncio.run(main())


def test_a_send_the_broker_never_acknowledged_stops_every_later_commit() -> None:
    async def main() -> None:
        ledger = DeliveryLedger()
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(TimeoutError("batch expired while the broker was away"))
        ledger.add(failed)
        for _ in range(2):
            with pytest.raises(UndeliveredMessage, match="batch expired"):
                await ledger.settle()

    asyncio.run(main())


def test_a_send_that_raises_at_once_stops_every_later_commit_too() -> None:
    """Faust acknowledges the events an agent was handed when its stream closes, a whole batch with
    ``take_events``: a send that raised, whose matches never left, must still hold the commit back."""

    class Refusing:
        async def send(self, **message: object) -> None:
            raise TimeoutError("no metadata for the matches topic")

    async def main() -> None:
        ledger = DeliveryLedger()
        with pytest.raises(TimeoutError):
            await ledger.send(Refusing(), key=b"rule", value=b"{}")
        for _ in range(2):
            with pytest.raises(UndeliveredMessage, match="no metadata"):
                await ledger.settle()

    asyncio.run(main())
