"""Consuming events: parse, apply once, retry with back-off, dead-letter what cannot be applied.

Every service subscribes through `subscribe`, so all four share one answer to bad input:
- a message that is not the expected event goes to `slrt.dlq.<service>` at once, with the
  reason in headers, and is terminated (a retry cannot fix it);
- a handler error is retried with `nak(delay)` growing with the delivery count, and after
  MAX_ATTEMPTS the message goes to the dead-letter subject; an effect that waits for another
  event (`NotYet`) is retried for longer (WAITING_ATTEMPTS);
- an event already in the inbox is acknowledged and skipped.
The dead-letter publish goes through JetStream and is awaited before the original is
terminated, so nothing is dropped between the two.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import inbox
from shared.contracts import ContractError, Event, parse_event
from shared.db import SessionFactory
from shared.logging import TRACE_HEADER, get_logger, mask_personal_numbers
from shared.topology import (
    DISTRICT_STREAMS,
    MAX_ATTEMPTS,
    WAITING_ATTEMPTS,
    Streams,
    dead_letter_subject,
    subscription,
)

log = get_logger(__name__)

E = TypeVar("E", bound=Event)
Apply = Callable[[AsyncSession, E], Awaitable[None]]

DLQ_HEADER_PREFIX = "Slrt-Dlq-"
PUBLISH_TIMEOUT_SECONDS = 5.0


class NotYet(Exception):
    """The effect depends on another event this service has not applied yet: try later."""


def retry_delay(attempt: int) -> float:
    """Seconds before the next try: 1, 2, 4, 8 ... capped at a minute."""
    return float(min(2 ** (attempt - 1), 60))


@dataclass
class EventConsumer(Generic[E]):
    """One service's durable consumer of one event type."""

    broker: NatsBroker
    service: str
    durable: str
    event: type[E]
    sessions: SessionFactory
    apply: Apply[E]
    after_commit: Callable[[], None]
    streams: Streams = DISTRICT_STREAMS
    max_attempts: int = MAX_ATTEMPTS
    waiting_attempts: int = WAITING_ATTEMPTS
    backoff: Callable[[int], float] = retry_delay

    async def handle(self, msg: NatsMessage) -> None:
        trace_id = (msg.raw_message.headers or {}).get(TRACE_HEADER, "")
        with structlog.contextvars.bound_contextvars(trace_id=trace_id, consumer=self.durable):
            await self._handle(msg)

    async def _handle(self, msg: NatsMessage) -> None:
        attempt = msg.raw_message.metadata.num_delivered or 1
        try:
            parsed = parse_event(msg.body, self.event)
        except ContractError as exc:
            await self.dead_letter(msg, reason=str(exc), attempt=attempt)
            return
        with structlog.contextvars.bound_contextvars(
            trace_id=parsed.trace_id, event_id=str(parsed.event_id), event_type=parsed.type
        ):
            try:
                applied = await self._apply_once(parsed)
            except NotYet as exc:
                await self._retry_or_dead_letter(
                    msg, f"waiting: {exc}", attempt, self.waiting_attempts
                )
                return
            except Exception as exc:  # any failure of the effect is retried, then dead-lettered
                reason = f"{type(exc).__name__}: {exc}"
                await self._retry_or_dead_letter(msg, reason, attempt, self.max_attempts)
                return
            await msg.ack()
            if applied:
                self.after_commit()
            log.info("event_consumed", applied=applied)

    async def _apply_once(self, event: E) -> bool:
        """Apply the event and record it in the inbox in one transaction; False if seen."""
        try:
            async with self.sessions() as session:
                if not await inbox.claim(session, consumer=self.durable, event_id=event.event_id):
                    return False
                await self.apply(session, event)
                await session.commit()
                return True
        except IntegrityError:
            # Another instance applied it first, or the effect hit a unique constraint.
            async with self.sessions() as session:
                key = (self.durable, event.event_id)
                if await session.get(inbox.InboxEntry, key) is not None:
                    return False
            raise

    async def _retry_or_dead_letter(
        self, msg: NatsMessage, reason: str, attempt: int, limit: int
    ) -> None:
        if attempt >= limit:
            await self.dead_letter(msg, reason=reason, attempt=attempt)
            return
        log.warning("event_retry", attempt=attempt, error=reason)
        await msg.nack(delay=self.backoff(attempt))

    async def dead_letter(self, msg: NatsMessage, *, reason: str, attempt: int) -> None:
        """Store the message on the dead-letter subject, then terminate the original."""
        raw = msg.raw_message
        reason = mask_personal_numbers(reason)[:1000]
        stream_seq = str(raw.metadata.sequence.stream)
        headers = {
            k: v
            for k, v in (raw.headers or {}).items()
            if not k.startswith(("Nats-", DLQ_HEADER_PREFIX))
        }
        headers |= {
            "Nats-Msg-Id": f"dlq:{self.durable}:{stream_seq}",
            f"{DLQ_HEADER_PREFIX}Reason": reason,
            f"{DLQ_HEADER_PREFIX}Consumer": self.durable,
            f"{DLQ_HEADER_PREFIX}Subject": raw.subject,
            f"{DLQ_HEADER_PREFIX}Stream-Seq": stream_seq,
            f"{DLQ_HEADER_PREFIX}Attempts": str(attempt),
        }
        await self.broker.publish(
            raw.data,
            dead_letter_subject(self.service),
            headers=headers,
            stream=self.streams.publish,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        await msg.reject()
        log.error("event_dead_lettered", reason=reason, attempts=attempt)


def subscribe(
    broker: NatsBroker,
    *,
    service: str,
    event: type[E],
    sessions: SessionFactory,
    apply: Apply[E],
    after_commit: Callable[[], None] = lambda: None,
    backoff: Callable[[int], float] = retry_delay,
    streams: Streams = DISTRICT_STREAMS,
) -> EventConsumer[E]:
    """Bind `apply` to the provisioned durable consumer of `service` for `event`."""
    sub = subscription(service, event)
    consumer = EventConsumer(
        broker,
        service,
        sub.durable,
        event,
        sessions,
        apply,
        after_commit,
        streams=streams,
        backoff=backoff,
    )
    broker.subscriber(
        event.filter_subject(),
        stream=JStream(streams.consume, declare=False),
        durable=sub.durable,
        pull_sub=PullSub(batch_size=50, timeout=1.0),
        ack_policy=AckPolicy.MANUAL,
    )(consumer.handle)
    return consumer
