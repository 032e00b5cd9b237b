"""`slrt dlq list|replay <service>`: inspect and replay a service's dead-lettered messages.

Dead letters stay in the SLRT stream on `slrt.dlq.<service>`. Replaying republishes the
original message on its original subject; every consumer's inbox makes that safe for the
consumers that had already applied it.
"""

from dataclasses import dataclass

import nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.consumer import DLQ_HEADER_PREFIX
from shared.contracts import STREAM_NAME
from shared.topology import dead_letter_subject


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    consumer: str
    reason: str
    attempts: str
    data: bytes

    @classmethod
    def of(cls, msg: Msg) -> "DeadLetter":
        headers = msg.headers or {}
        return cls(
            seq=msg.metadata.sequence.stream,
            subject=headers.get(f"{DLQ_HEADER_PREFIX}Subject", ""),
            consumer=headers.get(f"{DLQ_HEADER_PREFIX}Consumer", ""),
            reason=headers.get(f"{DLQ_HEADER_PREFIX}Reason", ""),
            attempts=headers.get(f"{DLQ_HEADER_PREFIX}Attempts", ""),
            data=msg.data,
        )


async def read_dead_letters(nats_url: str, service: str) -> list[DeadLetter]:
    """Every dead letter of `service`, oldest first, without consuming them."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        config = ConsumerConfig(
            filter_subject=dead_letter_subject(service),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        sub = await js.pull_subscribe(
            dead_letter_subject(service), stream=STREAM_NAME, config=config
        )
        letters: list[DeadLetter] = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=0.5)
            except TimeoutError:  # nats-py's, or asyncio's bare one that 2.16 also raises
                return letters
            letters.extend(DeadLetter.of(msg) for msg in batch)
    finally:
        await nc.close()


async def replay(nats_url: str, letters: list[DeadLetter]) -> int:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for letter in letters:
            headers = {"Nats-Msg-Id": f"replay:{letter.seq}"}
            await js.publish(letter.subject, letter.data, headers=headers, stream=STREAM_NAME)
        return len(letters)
    finally:
        await nc.close()


async def command(action: str, service: str, nats_url: str, seq: int | None) -> int:
    letters = await read_dead_letters(nats_url, service)
    if seq is not None:
        letters = [letter for letter in letters if letter.seq == seq]
    if action == "list":
        for letter in letters:
            print(f"#{letter.seq}  {letter.subject}  consumer={letter.consumer}")
            print(f"      attempts: {letter.attempts}")
            print(f"      reason: {letter.reason}")
        print(f"{len(letters)} dead letter(s) for {service}")
        return 0
    replayed = await replay(nats_url, [letter for letter in letters if letter.subject])
    print(f"replayed {replayed} message(s)")
    return 0
