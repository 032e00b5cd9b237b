"""The consumers' fetch hands over a message as soon as it comes, busy or idle."""

import asyncio
import random
import time

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

import shared.consumer
from shared.cancellation import raise_if_cancelled
from slrt.natsserver import NatsServer


async def test_a_message_reaching_an_idle_consumer_is_handed_over_at_once(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight idle pull consumers on one connection, as in a service, fetching with a 1 s
    timeout; single messages come at random moments over 12 s. A fetch of the whole batch
    held some of them until its timeout ran out; each must come well before that."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="IDLE", subjects=["idle.>"]))
    arrived: dict[bytes, float] = {}
    came = asyncio.Event()

    async def consume(i: int) -> None:
        config = ConsumerConfig(
            durable_name=f"d{i}", filter_subject=f"idle.{i}", ack_policy=AckPolicy.EXPLICIT
        )
        await js.add_consumer("IDLE", config)
        sub = await js.pull_subscribe_bind(f"d{i}", "IDLE")
        while True:
            raise_if_cancelled()  # the stop at the end must not be swallowed (a hang)
            try:
                messages = await shared.consumer.fetch_batch(sub)
            except TimeoutError:
                continue
            for message in messages:
                arrived[message.data] = time.monotonic()
                came.set()
                await message.ack()

    monkeypatch.setattr(shared.consumer, "FETCH_TIMEOUT_SECONDS", 1.0)
    consumers = [asyncio.create_task(consume(i)) for i in range(8)]
    rng = random.Random(3)
    delays = []
    try:
        for n in range(16):
            await asyncio.sleep(rng.uniform(0.2, 1.3))
            came.clear()
            sent = time.monotonic()
            await js.publish(f"idle.{n % 8}", str(n).encode())
            await asyncio.wait_for(came.wait(), timeout=5)
            delays.append(arrived[str(n).encode()] - sent)
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await nc.close()
    assert max(delays) < 0.5, delays


async def test_a_steady_trickle_is_fetched_a_few_at_a_time(nats_server: NatsServer) -> None:
    """Messages coming every few milliseconds, each alone when the consumer asks: the fetch
    waits a moment after the first and takes what came meanwhile, so they are applied (and
    committed, and acknowledged) several per batch instead of one by one."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="TRICKLE", subjects=["trickle"]))
    await js.add_consumer(
        "TRICKLE", ConsumerConfig(durable_name="d", ack_policy=AckPolicy.EXPLICIT)
    )
    sub = await js.pull_subscribe_bind("d", "TRICKLE")

    async def trickle() -> None:
        for n in range(40):
            await js.publish("trickle", str(n).encode())
            await asyncio.sleep(0.002)

    sender = asyncio.create_task(trickle())
    batches = []
    try:
        while sum(batches) < 40:
            messages = await shared.consumer.fetch_batch(sub)
            batches.append(len(messages))
            for message in messages:
                await message.ack()
    finally:
        await sender
        await nc.close()
    assert len(batches) <= 10, batches
