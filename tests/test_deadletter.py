"""`slrt dlq`: reading a service's dead letters from a real nats-server."""

from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from shared.consumer import DLQ_HEADER_PREFIX
from shared.contracts import STREAM_NAME
from shared.topology import dead_letter_subject
from slrt.deadletter import read_dead_letters
from slrt.natsserver import NatsServer

PullSubscription = JetStreamContext.PullSubscription


async def test_reading_ends_at_a_bare_asyncio_timeout_with_every_letter(
    provisioned_nats: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nats-py 2.16's fetch of a batch raises asyncio's own TimeoutError, not its subclass
    # nats.errors.TimeoutError, when its deadline runs out after the no-wait probe: the end
    # of the letters must read as the end, not fail `slrt dlq list` now and then.
    nc = await nats.connect(provisioned_nats.url)
    for n in range(3):
        headers = {"Nats-Msg-Id": f"dlq-{n}", f"{DLQ_HEADER_PREFIX}Reason": f"rusak {n}"}
        await nc.jetstream().publish(
            dead_letter_subject("notify"), b"{}", headers=headers, stream=STREAM_NAME
        )
    await nc.close()

    real_fetch = PullSubscription.fetch
    calls = 0

    async def fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise TimeoutError  # asyncio.TimeoutError is this class on Python 3.11
        return await real_fetch(self, *args, **kwargs)

    monkeypatch.setattr(PullSubscription, "fetch", fetch)
    letters = await read_dead_letters(provisioned_nats.url, "notify")
    assert [letter.reason for letter in letters] == ["rusak 0", "rusak 1", "rusak 2"]
    assert calls == 2
