"""Consuming events: parse, apply once, retry with back-off, dead-letter what cannot be applied.

Every service subscribes through `subscribe`, so all four share one answer to bad input:
- a message that is not the expected event goes to `slrt.dlq.<service>` at once, with the
  reason in headers, and is terminated (a retry cannot fix it);
- a handler error is retried with `nak(delay)` growing with the delivery count, and after
  MAX_ATTEMPTS the message goes to the dead-letter subject; an effect that waits for another
  event (`NotYet`) is retried for longer (WAITING_ATTEMPTS), and its first few retries
  (QUIET_WAITS) are logged at INFO, since that is the usual race between two consumers;
- an event already in the inbox is acknowledged and skipped;
- an effect that fails because the database is away (restarting, unreachable) is no fault
  of the event: the consumer holds its messages (kept from redelivery) until the database
  answers again and applies them then, so an outage longer than the retries' back-off does
  not dead-letter every event that came during it.
The dead-letter publish goes through JetStream and is awaited before the original is
terminated, so nothing is dropped between the two.

Each durable consumer is a loop fetching what waits or comes within a moment (up to
FETCH_BATCH messages) and applying the batch's events in one transaction; one that must
wait is left out of it, and when one fails, the batch is rolled back and its events applied
one at a time, so the failing one alone is retried. The loop uses nats-py's pull
subscription directly: FastStream's subscriber spent ~400 µs of CPU per message on its
dependency injection and a worker-thread hop, against ~50 µs for a fetch and an ack
(bench/RESULTS.md, 2026-11-24).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import inbox
from shared.cancellation import raise_if_cancelled
from shared.contracts import ContractError, Event, parse_event
from shared.db import DATABASE_UNAVAILABLE, SessionFactory, error_detail, until_database_answers
from shared.logging import TRACE_HEADER, get_logger, mask_personal_numbers
from shared.responder import Responder
from shared.staging import staged_count
from shared.topology import (
    DISTRICT_STREAMS,
    MAX_ATTEMPTS,
    WAITING_ATTEMPTS,
    Streams,
    dead_letter_subject,
    subscription,
)

log = get_logger(__name__)

PullSubscription = JetStreamContext.PullSubscription

E = TypeVar("E", bound=Event)
# An effect works in the session it is given and neither commits nor rolls it back: the
# consumer commits it with the inbox row, and with the other events of the same fetch.
Apply = Callable[[AsyncSession, E], Awaitable[None]]

DLQ_HEADER_PREFIX = "Slrt-Dlq-"
DLQ_REASON_LIMIT = 1000  # characters of a dead letter's reason header
PUBLISH_TIMEOUT_SECONDS = 5.0
FETCH_BATCH = 50
# How long a fetch waits for the first message when none is there (a message that comes
# meanwhile is handed over at once), and then for more once the waiting ones are taken.
FETCH_TIMEOUT_SECONDS = 5.0
FETCH_MORE_SECONDS = 0.01
# After the first message, wait this long for more, to apply them in one transaction. A
# steady stream otherwise comes one event per batch, each with its own fetch, commit and
# ack; at 200 cases/s the wait cost less CPU per case and lower latencies than none
# (bench/RESULTS.md).
FETCH_LINGER_SECONDS = 0.05
PAUSE_AFTER_FAILURE_SECONDS = 1.0
# An event that waits for another durable's event is, for its first tries, the usual race
# between two consumers (at 200 cases/s one case.verified in nine reached notify before its
# registration, bench/RESULTS.md): logged as a warning only once it has waited longer.
QUIET_WAITS = 2


class NotYet(Exception):
    """The effect depends on another event this service has not applied yet: try later.

    Raise it before changing anything in the session: the other events of the batch are
    then applied in the same transaction without this one."""


# How an event of a batch went: applied now (True), applied before (False), or waiting.
Outcome = bool | NotYet


def retry_delay(attempt: int) -> float:
    """Seconds before the next try: 1, 2, 4, 8 ... capped at a minute."""
    return float(min(2 ** (attempt - 1), 60))


@dataclass
class EventConsumer(Generic[E]):
    """One service's durable consumer of one event type."""

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

    async def run(self, js: JetStreamContext) -> None:
        """Fetch and handle batches until cancelled; failures are logged and waited out."""
        sub = await js.pull_subscribe_bind(self.durable, stream=self.streams.consume)
        try:
            while True:
                raise_if_cancelled()
                await self._next_batch(js, sub)
        finally:
            # Left subscribed, the connection's drain at shutdown would wait for it in vain.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _next_batch(self, js: JetStreamContext, sub: PullSubscription) -> None:
        try:
            messages = await fetch_batch(sub)
        except TimeoutError:
            return  # nothing waiting
        except Exception as exc:  # the server restarting or unreachable: the client reconnects
            await self._pause("event_fetch_failed", exc)
            return
        try:
            await self.handle_batch(js, messages)
        except Exception as exc:
            # An ack, nak or dead letter that could not reach the server: whatever was not
            # acknowledged is delivered again after the consumer's ack wait.
            await self._pause("event_batch_failed", exc)

    async def _pause(self, what: str, exc: Exception) -> None:
        log.warning(what, consumer=self.durable, error=type(exc).__name__)
        await asyncio.sleep(PAUSE_AFTER_FAILURE_SECONDS)

    async def handle_batch(self, js: JetStreamContext, messages: list[Msg]) -> None:
        events: list[tuple[Msg, E]] = []
        for msg in messages:
            try:
                events.append((msg, parse_event(msg.data, self.event)))
            except ContractError as exc:
                with self._logging_context(msg):
                    await self.dead_letter(js, msg, reason=str(exc))
        outcomes = None
        if len(events) > 1:
            # If one fails, each again on its own, so only the failing one is retried.
            with contextlib.suppress(Exception):
                outcomes = await self._apply(events)
        if outcomes is None:
            for i, (msg, event) in enumerate(events):
                await self._handle_one(js, msg, event, unsettled=[m for m, _ in events[i:]])
            return
        for (msg, event), outcome in zip(events, outcomes, strict=True):
            with self._logging_context(msg, event):
                await self._settle(js, msg, outcome)
        if any(outcome is True for outcome in outcomes):
            self.after_commit()

    async def _apply(self, events: list[tuple[Msg, E]]) -> list[Outcome]:
        """Apply the events and record them in the inbox in one transaction: for each, True
        if applied now, False if it had been, NotYet if it must wait for another event.

        An event that comes twice in one batch (delivered again while its first delivery
        was held, or published twice) goes as its first copy went: acknowledged after the
        first was applied, delivered again if the first must wait. Acknowledged as done
        while the first waited, a second delivery of the same message ended it unapplied
        (a referral's message never sent, in the fault test with the database away).

        An event that must wait is left out and the others applied: applying each of them
        alone instead cost a transaction per event, and at 150 cases/s one case in five
        has a step that reaches notify before its registration (bench/RESULTS.md). That
        takes an effect that raises NotYet before changing anything; one that did change
        the session fails the batch, which is then applied one event at a time."""
        outcomes: list[Outcome] = []
        async with self.sessions() as session:
            ids = [event.event_id for _, event in events]
            fresh = await inbox.claim(session, consumer=self.durable, event_ids=ids)
            first: dict[UUID, Outcome] = {}
            for msg, event in events:
                if event.event_id in first:
                    outcomes.append(_as_copy(first[event.event_id]))
                    continue
                outcome: Outcome = event.event_id in fresh
                if outcome:
                    with self._logging_context(msg, event):
                        outcome = await self._apply_one(session, event)
                first[event.event_id] = outcome
                outcomes.append(outcome)
            await session.commit()
        return outcomes

    async def _apply_one(self, session: AsyncSession, event: E) -> Outcome:
        before = _changes(session)
        try:
            await self.apply(session, event)
        except NotYet as exc:
            if _changes(session) != before:
                raise
            await inbox.release(session, consumer=self.durable, event_id=event.event_id)
            return exc
        return True

    async def _handle_one(
        self, js: JetStreamContext, msg: Msg, event: E, *, unsettled: list[Msg]
    ) -> None:
        """Apply one event; `unsettled` are this one and the batch's others still to come,
        held while the database is away."""
        with self._logging_context(msg, event):
            while True:
                try:
                    (outcome,) = await self._apply([(msg, event)])
                except NotYet as exc:
                    outcome = exc
                except Exception as exc:  # any failure of the effect is retried, then dead-lettered
                    if isinstance(exc, DATABASE_UNAVAILABLE) and await self._held(unsettled, exc):
                        continue  # the same delivery again: an outage is not an attempt
                    reason = f"{type(exc).__name__}: {error_detail(exc, DLQ_REASON_LIMIT)}"
                    attempt = _attempt(msg)
                    await self._retry_or_dead_letter(js, msg, reason, attempt, self.max_attempts)
                    return
                break
            await self._settle(js, msg, outcome)
            if outcome is True:
                self.after_commit()

    async def _held(self, unsettled: list[Msg], failure: BaseException) -> bool:
        """If the database does not answer (or its disk is full), wait until it may,
        telling the server the messages are in progress meanwhile, and say so (True). If
        it answers, the failure was the event's own (False)."""

        async def keep_in_progress() -> None:
            for msg in unsettled:
                with contextlib.suppress(Exception):  # NATS away as well: redelivered later
                    await msg.in_progress()

        return await until_database_answers(
            self.sessions, meanwhile=keep_in_progress, failure=failure
        )

    async def _settle(self, js: JetStreamContext, msg: Msg, outcome: Outcome) -> None:
        """After the commit: acknowledge an applied (or earlier applied) event; one that
        waits is delivered again later."""
        if isinstance(outcome, NotYet):
            attempt = _attempt(msg)
            await self._retry_or_dead_letter(
                js,
                msg,
                f"waiting: {outcome}",
                attempt,
                self.waiting_attempts,
                expected=attempt <= QUIET_WAITS,
            )
            return
        await msg.ack()
        log.info("event_consumed", applied=outcome)

    async def _retry_or_dead_letter(
        self,
        js: JetStreamContext,
        msg: Msg,
        reason: str,
        attempt: int,
        limit: int,
        *,
        expected: bool = False,
    ) -> None:
        if attempt >= limit:
            await self.dead_letter(js, msg, reason=reason)
            return
        report = log.info if expected else log.warning
        report("event_retry", attempt=attempt, error=reason)
        await msg.nak(delay=self.backoff(attempt))

    async def dead_letter(self, js: JetStreamContext, msg: Msg, *, reason: str) -> None:
        """Store the message on the dead-letter subject, then terminate the original."""
        reason = mask_personal_numbers(reason)[:DLQ_REASON_LIMIT]
        attempt = _attempt(msg)
        stream_seq = str(msg.metadata.sequence.stream)
        headers = {
            k: v
            for k, v in (msg.headers or {}).items()
            if not k.startswith(("Nats-", DLQ_HEADER_PREFIX))
        }
        headers |= {
            "Nats-Msg-Id": f"dlq:{self.durable}:{stream_seq}",
            f"{DLQ_HEADER_PREFIX}Reason": reason,
            f"{DLQ_HEADER_PREFIX}Consumer": self.durable,
            f"{DLQ_HEADER_PREFIX}Subject": msg.subject,
            f"{DLQ_HEADER_PREFIX}Stream-Seq": stream_seq,
            f"{DLQ_HEADER_PREFIX}Attempts": str(attempt),
        }
        await js.publish(
            dead_letter_subject(self.service),
            msg.data,
            headers=headers,
            stream=self.streams.publish,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
        await msg.term()
        log.error("event_dead_lettered", reason=reason, attempts=attempt)

    @contextlib.contextmanager
    def _logging_context(self, msg: Msg, event: E | None = None) -> Iterator[None]:
        """Every log line about a message says which consumer and trace it belongs to."""
        if event is None:
            trace = {"trace_id": (msg.headers or {}).get(TRACE_HEADER, "")}
        else:
            trace = {
                "trace_id": event.trace_id,
                "event_id": str(event.event_id),
                "event_type": event.type,
            }
        with structlog.contextvars.bound_contextvars(consumer=self.durable, **trace):
            yield


async def fetch_batch(sub: PullSubscription) -> list[Msg]:
    """The next message as soon as there is one, with what else waits or comes in the
    next FETCH_LINGER_SECONDS (up to FETCH_BATCH).

    Two fetches: nats-py 2.14's fetch of a whole batch, once a request of it had expired
    while idle, sometimes held a message that came until its own timeout ran out (measured:
    0.9 to 4.6 s of a 5 s timeout, in 4 of 12 single messages); a fetch of one hands it
    over. 2.16 says it fixed that; the two fetches stay until measured without them."""
    first = await sub.fetch(1, timeout=FETCH_TIMEOUT_SECONDS)
    await asyncio.sleep(FETCH_LINGER_SECONDS)
    try:
        return first + await sub.fetch(FETCH_BATCH - 1, timeout=FETCH_MORE_SECONDS)
    except TimeoutError:
        return first


def _as_copy(first: Outcome) -> Outcome:
    """How a second copy of an event in the same batch goes, given how the first went."""
    return first if isinstance(first, NotYet) else False


def _changes(session: AsyncSession) -> tuple[int, int, int, int]:
    """How many objects the session would add, update and delete at commit, and how many
    rows it has staged."""
    return len(session.new), len(session.dirty), len(session.deleted), staged_count(session)


def _attempt(msg: Msg) -> int:
    return msg.metadata.num_delivered or 1


@dataclass
class Consumers:
    """A service's durable consumers, and what it answers on core NATS (`responders`);
    they run once the broker is connected."""

    all: list[EventConsumer[Any]] = field(default_factory=list)
    responders: list[Responder] = field(default_factory=list)
    _tasks: list["asyncio.Task[None]"] = field(default_factory=list)

    def start(self, connection: NatsClient) -> None:
        js = connection.jetstream()
        self._tasks = [asyncio.create_task(c.run(js), name=c.durable) for c in self.all]
        self._tasks += [
            asyncio.create_task(r.run(connection), name=r.subject) for r in self.responders
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


def subscribe(
    consumers: Consumers,
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
        service, sub.durable, event, sessions, apply, after_commit, streams=streams, backoff=backoff
    )
    consumers.all.append(consumer)
    return consumer
