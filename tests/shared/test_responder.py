"""Answering core NATS requests (the desk's pre-check) against a real nats-server: what
cannot be read or answered gets no reply, and the next request is answered."""

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError
from pydantic import BaseModel

from shared.responder import Responder
from slrt.natsserver import NatsServer

SUBJECT = "rpc.test.double"


class Ask(BaseModel):
    number: int


class Answer(BaseModel):
    doubled: int


async def double(ask: Ask) -> Answer:
    if ask.number == 13:
        raise RuntimeError("the database went away")
    return Answer(doubled=2 * ask.number)


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_server.url)
    yield connection
    await connection.close()


async def answering(connection: Client) -> asyncio.Task[None]:
    task = asyncio.create_task(Responder(SUBJECT, "test", Ask, double).run(connection))
    await asyncio.sleep(0.1)  # subscribed
    return task


async def ask(client: Client, body: bytes) -> Answer:
    reply = await client.request(SUBJECT, body, timeout=0.5)
    return Answer.model_validate_json(reply.data)


async def test_a_request_is_answered_and_a_bad_one_left_unanswered(client: Client) -> None:
    task = await answering(client)
    try:
        assert await ask(client, b'{"number": 21}') == Answer(doubled=42)
        for bad in (b"{not json", b'{"number": "3317014507850001x"}', b'{"number": 13}'):
            with pytest.raises(TimeoutError):
                await ask(client, bad)
        assert await ask(client, b'{"number": 2}') == Answer(doubled=4)  # still answering
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_stopped_responder_no_longer_takes_requests(client: Client) -> None:
    task = await answering(client)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    with pytest.raises(NoRespondersError):
        await ask(client, b'{"number": 1}')
