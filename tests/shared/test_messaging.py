"""Outbox, inbox and dead letters against a real nats-server and both databases."""

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import nats
import pytest
from faststream.nats import NatsBroker
from nats.js.api import ConsumerConfig
from sqlalchemy import text
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import shared.db
from shared import consumer
from shared.consumer import DLQ_HEADER_PREFIX, Consumers, EventConsumer, NotYet, subscribe
from shared.contracts import STREAM_NAME, CaseRegistered
from shared.db import (
    SessionFactory,
    create_engine,
    create_tables,
    session_factory,
)
from shared.inbox import InboxEntry
from shared.outbox import OutboxMessage, OutboxRelay, add_event, outbox_message
from shared.runtime import RUNTIME_TABLES, jetstream_publisher
from shared.staging import stage
from shared.topology import MAX_ATTEMPTS, dead_letter_subject
from slrt.natsserver import NatsServer
from tests.events import case_registered, stored
from tests.outage import database_away, fill_to_the_page_limit, set_page_limit
from tests.waiting import wait_until


class Applied(SQLModel, table=True):
    """The effect the test consumer has: one row per application."""

    __tablename__ = "test_applied"
    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID


@dataclass
class Harness:
    nats: NatsServer
    sessions: SessionFactory
    broker: NatsBroker
    connected: asyncio.Event
    consumers: Consumers

    async def applied_count(self) -> int:
        async with self.sessions() as session:
            return (await session.exec(select(func.count()).select_from(Applied))).one()

    async def applied_cases(self) -> list[UUID]:
        """The case of each application, sorted: a case applied twice is there twice."""
        async with self.sessions() as session:
            return sorted((await session.exec(select(Applied.case_id))).all())

    async def publish_raw(self, subject: str, data: bytes, msg_id: str) -> None:
        """Publish as any client could, bypassing the outbox."""
        nc = await nats.connect(self.nats.url)
        try:
            await nc.jetstream().publish(
                subject, data, headers={"Nats-Msg-Id": msg_id}, stream=STREAM_NAME
            )
        finally:
            await nc.close()

    async def stored(self, subject: str) -> list[nats.aio.msg.Msg]:
        return await stored(self.nats.url, subject)


@pytest.fixture
async def harness(provisioned_nats: NatsServer, database_url: str) -> AsyncIterator[Harness]:
    engine = create_engine(database_url)
    await create_tables(engine, [*RUNTIME_TABLES, Applied.__table__])  # type: ignore[attr-defined]
    broker = NatsBroker(provisioned_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    harness = Harness(
        provisioned_nats, session_factory(engine), broker, asyncio.Event(), Consumers()
    )
    yield harness
    await harness.consumers.stop()
    await broker.stop()
    await engine.dispose()


async def start_consumer(h: Harness, apply: Callable[..., object] | None = None) -> None:
    async def record(session: AsyncSession, event: CaseRegistered) -> None:
        session.add(Applied(case_id=event.case_id))

    subscribe(
        h.consumers,
        service="verval",
        event=CaseRegistered,
        sessions=h.sessions,
        apply=apply or record,  # type: ignore[arg-type]
        backoff=lambda attempt: 0.1,
    )
    await h.broker.start()
    h.consumers.start(h.broker.connection)
    h.connected.set()


@contextlib.asynccontextmanager
async def relaying(relay: OutboxRelay) -> AsyncIterator[None]:
    """The relay running, as in a service, for the duration of the block."""
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _unpublished(h: Harness) -> int:
    async with h.sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
        return (await session.exec(query)).one()


async def _all_published(h: Harness) -> bool:
    return await _unpublished(h) == 0


def _relay(h: Harness, **options: float) -> OutboxRelay:
    return OutboxRelay(
        h.sessions, jetstream_publisher(h.broker, h.connected, STREAM_NAME), **options
    )


async def test_outbox_row_is_published_with_msg_id_and_marked_after_ack(harness: Harness) -> None:
    await harness.broker.start()
    harness.connected.set()
    event = case_registered()
    async with harness.sessions() as session:
        add_event(session, event)
        await session.commit()
    async with relaying(_relay(harness)):
        await wait_until(lambda: _all_published(harness))
    stored = await harness.stored(event.subject())
    assert [m.headers["Nats-Msg-Id"] for m in stored] == [str(event.event_id)]
    assert json.loads(stored[0].data)["event_id"] == str(event.event_id)


async def test_rows_are_stored_once_each_in_the_order_committed(harness: Harness) -> None:
    await harness.broker.start()
    harness.connected.set()
    events = [case_registered() for _ in range(30)]
    relay = _relay(harness, batch_size=7)  # several turns, acknowledgements overlapping
    async with relaying(relay):
        for event in events:
            async with harness.sessions() as session:
                add_event(session, event)
                await session.commit()
            relay.wake()
        await wait_until(lambda: _all_published(harness))
    ids = [m.headers["Nats-Msg-Id"] for m in await harness.stored("slrt.case.registered.>")]
    assert ids == [str(e.event_id) for e in events]


async def test_a_row_committed_after_one_with_a_higher_id_is_published(harness: Harness) -> None:
    """On PostgreSQL ids are taken at insert and transactions commit in any order: a row
    can appear after the relay sent rows with higher ids."""
    await harness.broker.start()
    harness.connected.set()
    later, earlier = case_registered(), case_registered()
    relay = _relay(harness)
    async with relaying(relay):
        for row_id, event in ((10, later), (5, earlier)):
            async with harness.sessions() as session:
                session.add(_outbox_row(row_id, event))
                await session.commit()
            relay.wake()
            await wait_until(lambda: _all_published(harness))
    ids = [m.headers["Nats-Msg-Id"] for m in await harness.stored("slrt.case.registered.>")]
    assert ids == [str(later.event_id), str(earlier.event_id)]


def _outbox_row(row_id: int, event: CaseRegistered) -> OutboxMessage:
    row = outbox_message(event)
    row.id = row_id
    return row


async def test_a_row_is_sent_while_earlier_ones_wait_for_their_acknowledgement(
    harness: Harness,
) -> None:
    sent: list[str] = []
    acknowledge = asyncio.Event()

    async def publish(subject: str, payload: bytes, headers: dict[str, str]) -> None:
        sent.append(headers["Nats-Msg-Id"])
        await acknowledge.wait()

    first, second = case_registered(), case_registered()
    relay = OutboxRelay(harness.sessions, publish)
    async with relaying(relay):
        for event in (first, second):
            async with harness.sessions() as session:
                add_event(session, event)
                await session.commit()
            relay.wake()
            await wait_until(functools.partial(_sent, sent, event))
        assert await _unpublished(harness) == 2  # nothing acknowledged, nothing marked
        acknowledge.set()
        await wait_until(lambda: _all_published(harness))
    assert sent == [str(first.event_id), str(second.event_id)]


async def _sent(sent: list[str], event: CaseRegistered) -> bool:
    return str(event.event_id) in sent


async def test_broker_outage_keeps_events_until_it_returns(harness: Harness) -> None:
    await harness.broker.start()
    harness.connected.set()
    harness.nats.stop()
    event = case_registered()
    async with harness.sessions() as session:
        add_event(session, event)
        await session.commit()
    async with relaying(_relay(harness)):
        await asyncio.sleep(2)  # the publish fails, and fails again after a back-off
        assert await _unpublished(harness) == 1
        harness.nats.start()
        await wait_until(lambda: _all_published(harness), timeout=20)
    assert len(await harness.stored(event.subject())) == 1


async def test_redelivered_event_changes_state_once(harness: Harness) -> None:
    await start_consumer(harness)
    event = case_registered()
    # Different Nats-Msg-Ids get past the broker's de-duplication: only the inbox remains.
    for msg_id in ("first", "second", "third"):
        await harness.publish_raw(event.subject(), event.model_dump_json().encode(), msg_id)
    await wait_until(lambda: _count_is(harness, 1))
    await asyncio.sleep(0.5)
    assert await harness.applied_count() == 1


async def _count_is(h: Harness, n: int) -> bool:
    return await h.applied_count() == n


async def test_malformed_message_is_dead_lettered_and_consumer_keeps_working(
    harness: Harness,
) -> None:
    await start_consumer(harness)
    subject = "slrt.case.registered.3317.331701.3317012001"
    await harness.publish_raw(subject, b"{not json", "garbage")
    await harness.publish_raw(subject, b'{"type": "case.registered", "version": 9}', "v9")
    good = case_registered()
    await harness.publish_raw(good.subject(), good.model_dump_json().encode(), "good")
    await wait_until(lambda: _count_is(harness, 1))
    letters = await harness.stored(dead_letter_subject("verval"))
    assert len(letters) == 2
    reasons = [m.headers[f"{DLQ_HEADER_PREFIX}Reason"] for m in letters]
    assert "not JSON" in reasons[0] and "v9" in reasons[1]
    assert letters[0].data == b"{not json"
    assert letters[0].headers[f"{DLQ_HEADER_PREFIX}Subject"] == subject
    assert letters[0].headers[f"{DLQ_HEADER_PREFIX}Consumer"] == "verval__case_registered"


async def test_failing_handler_is_retried_then_dead_lettered(harness: Harness) -> None:
    tries: list[int] = []

    async def always_fails(session: AsyncSession, event: CaseRegistered) -> None:
        tries.append(1)
        raise RuntimeError("registry unavailable")

    await start_consumer(harness, always_fails)
    event = case_registered()
    async with harness.sessions() as session:
        add_event(session, event)
        await session.commit()
    async with relaying(_relay(harness)):
        await wait_until(lambda: _dead_letters(harness, 1), timeout=20)
    letter = (await harness.stored(dead_letter_subject("verval")))[0]
    assert letter.headers[f"{DLQ_HEADER_PREFIX}Attempts"] == "5"
    assert "RuntimeError: registry unavailable" in letter.headers[f"{DLQ_HEADER_PREFIX}Reason"]
    assert len(tries) == 5
    assert await harness.applied_count() == 0


async def _dead_letters(h: Harness, n: int) -> bool:
    return len(await h.stored(dead_letter_subject("verval"))) == n


class RecordedLevels:
    """Stands in for a module's structlog logger: which level each event was logged at."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.lines.append((event, level))

    def levels(self, event: str) -> list[str]:
        return [level for name, level in self.lines if name == event]


async def test_handler_that_fails_once_succeeds_on_retry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = RecordedLevels()
    monkeypatch.setattr(consumer, "log", logged)
    tries: list[int] = []

    async def flaky(session: AsyncSession, event: CaseRegistered) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise ConnectionError("database blip")
        session.add(Applied(case_id=event.case_id))

    await start_consumer(harness, flaky)
    event = case_registered()
    await harness.publish_raw(event.subject(), event.model_dump_json().encode(), "once")
    await wait_until(lambda: _count_is(harness, 1))
    assert len(tries) == 2
    assert await harness.stored(dead_letter_subject("verval")) == []
    assert logged.levels("event_retry") == ["warning"]  # a failure is worth one at once


async def test_an_event_waiting_for_another_is_retried_beyond_the_error_limit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first retries are the usual race between two consumers and logged at INFO; a
    longer wait is a warning."""
    logged = RecordedLevels()
    monkeypatch.setattr(consumer, "log", logged)
    tries: list[int] = []

    async def waits(session: AsyncSession, event: CaseRegistered) -> None:
        tries.append(1)
        if len(tries) <= MAX_ATTEMPTS + 1:  # more tries than an error would get
            raise NotYet("recipient not known yet")
        session.add(Applied(case_id=event.case_id))

    await start_consumer(harness, waits)
    event = case_registered()
    await harness.publish_raw(event.subject(), event.model_dump_json().encode(), "waiting")
    await wait_until(lambda: _count_is(harness, 1), timeout=20)
    assert len(tries) == MAX_ATTEMPTS + 2
    assert await harness.stored(dead_letter_subject("verval")) == []
    quiet = ["info"] * consumer.QUIET_WAITS
    assert logged.levels("event_retry") == quiet + ["warning"] * (MAX_ATTEMPTS + 1 - len(quiet))


async def _publish_events(h: Harness, count: int) -> list[CaseRegistered]:
    events = [case_registered() for _ in range(count)]
    for event in events:
        await h.publish_raw(event.subject(), event.model_dump_json().encode(), str(event.event_id))
    return events


@pytest.fixture
def whole_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that publish their events before the consumer starts and then count its
    batches: all wait on the server, so the fetch for the rest ends as soon as they came.
    A loaded CI machine took longer than the service's 10 ms for that, twice, and split
    them in two batches."""
    monkeypatch.setattr(consumer, "FETCH_MORE_SECONDS", 2.0)


@pytest.mark.usefixtures("whole_batches")
async def test_events_waiting_together_are_applied_in_one_transaction(harness: Harness) -> None:
    sessions: list[AsyncSession] = []

    async def record(session: AsyncSession, event: CaseRegistered) -> None:
        sessions.append(session)
        session.add(Applied(case_id=event.case_id))

    await _publish_events(harness, 10)
    await start_consumer(harness, record)
    await wait_until(lambda: _count_is(harness, 10))
    assert len(sessions) == 10
    assert len({id(s) for s in sessions}) == 1


@pytest.mark.usefixtures("whole_batches")
async def test_a_failing_event_is_retried_alone_and_the_rest_of_its_batch_applied(
    harness: Harness,
) -> None:
    events = await _publish_events(harness, 10)
    poison = events[4].case_id
    tries: list[UUID] = []

    async def fails_on_one(session: AsyncSession, event: CaseRegistered) -> None:
        tries.append(event.case_id)
        if event.case_id == poison:
            raise RuntimeError("this one cannot be applied")
        session.add(Applied(case_id=event.case_id))

    await start_consumer(harness, fails_on_one)
    await wait_until(lambda: _dead_letters(harness, 1), timeout=20)
    assert await harness.applied_cases() == sorted(e.case_id for e in events if e.case_id != poison)
    letter = (await harness.stored(dead_letter_subject("verval")))[0]
    assert letter.headers[f"{DLQ_HEADER_PREFIX}Attempts"] == str(MAX_ATTEMPTS)
    assert tries.count(poison) == MAX_ATTEMPTS + 1  # in the batch once, then alone each time


@pytest.mark.usefixtures("whole_batches")
async def test_an_event_that_must_wait_is_left_out_and_the_rest_of_its_batch_applied_together(
    harness: Harness,
) -> None:
    """Applying each of the others alone cost a transaction per event (bench/RESULTS.md)."""
    events = await _publish_events(harness, 10)
    early = events[4].case_id
    sessions: list[tuple[UUID, AsyncSession]] = []

    async def waits_once(session: AsyncSession, event: CaseRegistered) -> None:
        sessions.append((event.case_id, session))
        if event.case_id == early and len([c for c, _ in sessions if c == early]) == 1:
            raise NotYet("its registration is not applied yet")
        session.add(Applied(case_id=event.case_id))

    await start_consumer(harness, waits_once)
    await wait_until(lambda: _count_is(harness, 10))
    first_batch = {id(s) for c, s in sessions if c != early}
    assert len(sessions) == 11 and len(first_batch) == 1  # the nine once, together
    tries = [s for c, s in sessions if c == early]
    assert id(tries[0]) in first_batch and id(tries[1]) not in first_batch  # then again later
    assert await harness.applied_cases() == sorted(e.case_id for e in events)  # each once


def _add(session: AsyncSession, row: Applied) -> None:
    session.add(row)


@pytest.mark.usefixtures("whole_batches")
@pytest.mark.parametrize("write", [_add, stage], ids=["added", "staged"])
async def test_an_event_that_must_wait_after_changing_the_session_fails_its_batch(
    harness: Harness, write: Callable[[AsyncSession, Applied], None]
) -> None:
    """Its change must not be committed with the others while the event is retried, be it
    an object added to the session or a row staged for the commit."""
    events = await _publish_events(harness, 10)
    early = events[4].case_id
    tries: list[UUID] = []

    async def changes_then_waits(session: AsyncSession, event: CaseRegistered) -> None:
        tries.append(event.case_id)
        write(session, Applied(case_id=event.case_id))
        if event.case_id == early and tries.count(early) == 1:
            raise NotYet("its registration is not applied yet")

    await start_consumer(harness, changes_then_waits)
    await wait_until(lambda: _count_is(harness, 10))
    await asyncio.sleep(0.3)  # nothing applied twice comes after
    assert await harness.applied_cases() == sorted(e.case_id for e in events)
    # The batch stopped at it, and each was then applied alone.
    assert [tries.count(e.case_id) for e in events] == [2] * 5 + [1] * 5


async def test_the_consumer_keeps_working_when_a_dead_letter_cannot_be_stored(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def server_away(*args: object, **kwargs: object) -> None:
        raise ConnectionError("nats-server restarting")

    monkeypatch.setattr(EventConsumer, "dead_letter", server_away)
    await start_consumer(harness)
    subject = "slrt.case.registered.3317.331701.3317012001"
    await harness.publish_raw(subject, b"{not json", "garbage")
    await asyncio.sleep(0.5)  # the failed batch is behind the consumer, which goes on
    good = case_registered()
    await harness.publish_raw(good.subject(), good.model_dump_json().encode(), "good")
    await wait_until(lambda: _count_is(harness, 1))


async def test_events_that_come_while_the_database_is_away_wait_for_it(
    short_sqlite_wait: None, harness: Harness, database_url: str
) -> None:
    """An outage longer than the retries' back-off (five tries 0.1 s apart here) dead-letters
    nothing: the consumer holds the events until the database answers, then applies each
    once."""
    await start_consumer(harness)
    events = [case_registered() for _ in range(3)]
    with database_away(database_url):
        for event in events:
            data = event.model_dump_json().encode()
            await harness.publish_raw(event.subject(), data, str(event.event_id))
        await asyncio.sleep(3)
        assert await harness.stored(dead_letter_subject("verval")) == []
    await wait_until(lambda: _count_is(harness, 3), timeout=30)
    assert await harness.applied_cases() == sorted(event.case_id for event in events)
    assert await harness.stored(dead_letter_subject("verval")) == []


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_events_that_come_while_the_disk_is_full_wait_for_space(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk answers a ping (reads work) but takes no write, so the ping alone took
    the failure for the events' own and dead-lettered each after its five tries. SQLite's
    page limit fills the database as a full disk does (SQLITE_FULL); PostgreSQL's full
    disk cannot be made here without filling the machine's (its error is told apart in
    tests/shared/test_db.py)."""
    monkeypatch.setattr(shared.db, "DATABASE_WAIT_MAX_SECONDS", 0.5)
    await fill_to_the_page_limit(
        harness.sessions, lambda: InboxEntry(consumer="verval-filler", event_id=uuid4())
    )
    await start_consumer(harness)
    events = [case_registered() for _ in range(3)]
    for event in events:
        data = event.model_dump_json().encode()
        await harness.publish_raw(event.subject(), data, str(event.event_id))
    await asyncio.sleep(3)
    assert await harness.applied_count() == 0
    assert await harness.stored(dead_letter_subject("verval")) == []
    await set_page_limit(harness.sessions, 1_000_000)  # space freed
    await wait_until(lambda: _count_is(harness, 3), timeout=30)
    assert await harness.applied_cases() == sorted(event.case_id for event in events)
    assert await harness.stored(dead_letter_subject("verval")) == []


async def test_a_database_error_while_the_database_answers_is_the_events_own(
    harness: Harness,
) -> None:
    """Held only while the database does not answer: an event whose effect keeps failing
    with a database error (a table missing after a botched upgrade) is dead-lettered."""

    async def missing_table(session: AsyncSession, event: CaseRegistered) -> None:
        await session.execute(text("SELECT * FROM no_such_table"))

    await start_consumer(harness, missing_table)
    event = case_registered()
    await harness.publish_raw(event.subject(), event.model_dump_json().encode(), "missing")
    await wait_until(lambda: _dead_letters(harness, 1), timeout=20)
    letter = (await harness.stored(dead_letter_subject("verval")))[0]
    reason = letter.headers[f"{DLQ_HEADER_PREFIX}Reason"]
    assert "no_such_table" in reason
    assert "[SQL:" not in reason  # the driver's message, not the statement and its values


async def test_a_message_twice_in_one_batch_while_it_waits_is_delivered_again(
    harness: Harness,
) -> None:
    """The same message twice in one fetch (delivered again after its ack wait, as when a
    held batch outlasts it): while it must wait, neither copy may acknowledge it."""
    event = case_registered()
    await harness.publish_raw(event.subject(), event.model_dump_json().encode(), "twice")
    nc = await nats.connect(harness.nats.url)
    js = nc.jetstream()
    config = ConsumerConfig(durable_name="test_twice", filter_subject=event.subject(), ack_wait=1.0)
    await js.add_consumer(STREAM_NAME, config)
    sub = await js.pull_subscribe_bind("test_twice", stream=STREAM_NAME)
    (first,) = await sub.fetch(1, timeout=5)
    await asyncio.sleep(1.5)  # past the ack wait
    (again,) = await sub.fetch(1, timeout=5)

    async def waits(session: AsyncSession, event: CaseRegistered) -> None:
        raise NotYet("its registration first")

    waiting = EventConsumer(
        "verval", "test_twice", CaseRegistered, harness.sessions, waits, lambda: None
    )
    waiting.backoff = lambda attempt: 0.1
    try:
        await waiting.handle_batch(js, [first, again])
        (third,) = await sub.fetch(1, timeout=5)
    finally:
        await nc.close()
    assert third.metadata.sequence.stream == first.metadata.sequence.stream
