"""SQLite's sessions (shared/db.py): one connection per process, taken in turn, and the work
of a session that holds it run in place."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.util.concurrency import in_greenlet
from sqlmodel import select

from shared.db import (
    InlineSession,
    SessionFactory,
    create_engine,
    create_tables,
    error_detail,
    out_of_space,
    session_factory,
)
from shared.inbox import InboxEntry
from shared.runtime import RUNTIME_TABLES


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await create_tables(engine, RUNTIME_TABLES)
    yield session_factory(engine)
    await engine.dispose()


def entry() -> InboxEntry:
    return InboxEntry(consumer="test", event_id=uuid4())


async def test_a_second_session_waits_for_the_first_to_commit_and_then_sees_its_row(
    sessions: SessionFactory,
) -> None:
    written = entry()
    async with sessions() as first, sessions() as second:
        assert isinstance(first, InlineSession)
        first.add(written)
        await first.flush()  # holds the connection, in a transaction, from here
        reading = asyncio.create_task(second.get(InboxEntry, (written.consumer, written.event_id)))
        await asyncio.sleep(0.2)
        assert not reading.done()  # queued for the connection, not failed or interleaved
        await first.commit()
        found = await asyncio.wait_for(reading, timeout=5)
    assert found is not None and found.event_id == written.event_id


async def test_only_the_call_that_takes_the_connection_goes_through_a_greenlet(
    sessions: SessionFactory,
) -> None:
    seen: list[bool] = []

    def record(*_: Any) -> None:
        seen.append(in_greenlet())

    async with sessions() as session:
        event.listen(session.bind.sync_engine, "before_cursor_execute", record)  # type: ignore[union-attr]
        await session.exec(select(InboxEntry))
        session.add(entry())
        await session.flush()
        await session.exec(select(InboxEntry))
        await session.commit()
        await session.exec(select(InboxEntry))  # a new transaction: the connection again
    assert seen == [True, False, False, True]


async def test_a_cancelled_holder_gives_the_connection_back(sessions: SessionFactory) -> None:
    holding = asyncio.Event()

    async def hold_then_wait() -> None:
        async with sessions() as session:
            session.add(entry())
            await session.flush()
            holding.set()
            await asyncio.sleep(60)  # cancelled here, mid-transaction

    holder = asyncio.create_task(hold_then_wait())
    await holding.wait()
    holder.cancel()
    async with sessions() as session:
        rows = await asyncio.wait_for(session.exec(select(InboxEntry)), timeout=5)
        assert rows.all() == []  # the holder's row was rolled back


async def test_a_database_error_is_logged_without_its_statement_and_parameters(
    sessions: SessionFactory,
) -> None:
    """SQLAlchemy puts the statement and its parameters in an error's text; a log line
    must not carry them (a citizen's details, or a relay's thousand ids)."""
    duplicate = entry()
    async with sessions() as session:
        session.add(duplicate)
        await session.commit()
    with pytest.raises(IntegrityError) as raised:
        async with sessions() as session:
            session.add(InboxEntry(consumer="test", event_id=duplicate.event_id))
            await session.commit()
    assert duplicate.event_id.hex in str(raised.value)  # what SQLAlchemy says
    detail = error_detail(raised.value)
    assert detail.startswith("UNIQUE constraint failed")
    assert duplicate.event_id.hex not in detail
    assert "INSERT" not in detail


def test_any_other_error_is_logged_cut_short() -> None:
    assert error_detail(ConnectionError("x" * 1000)) == "x" * 300


def test_a_full_disk_is_told_from_the_other_database_errors() -> None:
    """SQLite's SQLITE_FULL is met for real in test_messaging; PostgreSQL's is its
    disk_full error, as psycopg raises it and SQLAlchemy wraps it."""
    full = psycopg.errors.DiskFull("could not extend file: No space left on device")
    assert out_of_space(OperationalError("INSERT", {}, full))
    gone = psycopg.errors.UndefinedTable('relation "case" does not exist')
    assert not out_of_space(OperationalError("SELECT", {}, gone))
    assert not out_of_space(ConnectionError("nats: no servers available"))
