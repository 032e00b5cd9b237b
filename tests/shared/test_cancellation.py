"""A service's background loops stop when cancelled, even when Python 3.11's wait_for (which
nats-py waits with) swallows the cancellation because what it waited for came at once."""

import asyncio
from pathlib import Path

import nats
import pytest

import shared.consumer
from shared.consumer import Consumers, subscribe
from shared.contracts import CaseRegistered
from shared.db import create_engine, session_factory
from shared.outbox import OutboxRelay
from slrt.natsserver import NatsServer


async def _stops(task: "asyncio.Task[None]", waiting: asyncio.Event, came: asyncio.Event) -> None:
    """Cancel `task` in the same moment what it waits for comes; it must end cancelled."""
    try:
        async with asyncio.timeout(5):
            await waiting.wait()
        came.set()
        task.cancel()
        # The task is not awaited under a timeout, which would cancel it a second time.
        await asyncio.wait({task}, timeout=3)
        assert task.cancelled()
    finally:
        task.cancel()  # if it swallowed the first, so that the test ends either way
        await asyncio.wait({task})


async def test_a_consumer_stops_when_its_fetch_expires_as_it_is_cancelled(
    provisioned_nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's answer that a pull request expired (nats-py raises TimeoutError) comes
    the moment the service stops: the consumer goes round again, and must not fetch again."""
    waiting, expired = asyncio.Event(), asyncio.Event()

    async def fetch(_: object) -> list[object]:
        waiting.set()
        await asyncio.wait_for(expired.wait(), timeout=10)
        expired.clear()
        raise TimeoutError

    monkeypatch.setattr(shared.consumer, "fetch_batch", fetch)
    sessions = session_factory(create_engine(f"sqlite:///{tmp_path / 'verval.db'}"))
    consumers = Consumers()
    consumer = subscribe(
        consumers, service="verval", event=CaseRegistered, sessions=sessions, apply=_unused
    )
    nc = await nats.connect(provisioned_nats.url)
    try:
        await _stops(asyncio.create_task(consumer.run(nc.jetstream())), waiting, expired)
    finally:
        await nc.close()


async def test_the_outbox_relay_stops_when_what_its_turn_awaits_comes_as_it_is_cancelled(
    tmp_path: Path,
) -> None:
    waiting, acknowledged = asyncio.Event(), asyncio.Event()

    async def publish(_: object) -> None:
        waiting.set()
        await asyncio.wait_for(acknowledged.wait(), timeout=10)

    sessions = session_factory(create_engine(f"sqlite:///{tmp_path / 'intake.db'}"))
    # It stops at its next turn: after at most one wait for a wake-up.
    relay = OutboxRelay(sessions, publish, poll_seconds=0.5)

    async def one_pending() -> int:  # a row to publish, as far as the loop can tell
        await publish(None)
        acknowledged.clear()
        return 0

    relay.send_pending = one_pending  # type: ignore[method-assign]
    await _stops(asyncio.create_task(relay.run()), waiting, acknowledged)


async def _unused(*_: object) -> None:
    raise AssertionError("no event is fetched here")
