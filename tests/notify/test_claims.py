"""Claiming messages for delivery, on both databases: a case's messages go in order, a
message behind a held one never blocks other cases, and a lapsed claim is taken over."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.notify import service
from services.notify.models import TABLES, Notification
from shared.db import SessionFactory, create_engine, create_tables, session_factory

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    await create_tables(engine, TABLES)
    yield session_factory(engine)
    await engine.dispose()


async def queue(sessions: SessionFactory, case_id: UUID, minute: int, **fields: object) -> UUID:
    fields = {"next_attempt_at": NOW} | fields
    n = Notification(
        source_event_id=uuid4(),
        case_id=case_id,
        about_event="case.registered",
        recipient_kind="citizen",
        channel="sms",
        to="+6281234567890",
        body="SLRT",
        created_at=NOW + timedelta(minutes=minute),
        desa_code="33.17.01.2001",
        **fields,
    )
    async with sessions() as session:
        session.add(n)
        await session.commit()
    return n.id


async def claim(sessions: SessionFactory, limit: int = 10, now: datetime = NOW) -> list[UUID]:
    async with sessions() as session:
        claims = await service.claim_due(session=session, now=now, lease=LEASE, limit=limit)
        await session.commit()
    return [c.notification.id for c in claims]


async def test_a_case_sends_one_message_at_a_time_in_order(sessions: SessionFactory) -> None:
    case = uuid4()
    first = await queue(sessions, case, 0)
    second = await queue(sessions, case, 1)
    assert await claim(sessions) == [first]
    assert await claim(sessions) == []  # the second waits while the first is being sent
    async with sessions() as session:
        row = await session.get(Notification, first)
        assert row is not None
        row.status = "sent"
        await session.commit()
    assert await claim(sessions) == [second]


async def test_a_message_behind_a_held_one_does_not_block_other_cases(
    sessions: SessionFactory,
) -> None:
    held_case = uuid4()
    await queue(sessions, held_case, 0, next_attempt_at=NOW + timedelta(hours=3))
    for minute in range(1, 6):  # five messages queued behind it, older than the other case's
        await queue(sessions, held_case, minute)
    other = await queue(sessions, uuid4(), 10)
    assert await claim(sessions, limit=1) == [other]


async def test_a_lapsed_claim_is_taken_over_and_said_to_be_recovered(
    sessions: SessionFactory,
) -> None:
    message = await queue(sessions, uuid4(), 0)
    assert await claim(sessions) == [message]
    assert await claim(sessions, now=NOW + LEASE - timedelta(seconds=1)) == []
    async with sessions() as session:
        (taken,) = await service.claim_due(
            session=session, now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, limit=10
        )
        await session.commit()
    assert taken.recovered and taken.notification.attempts == 2
