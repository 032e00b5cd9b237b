"""Two instances of a service claiming the same event at once (a redelivery reaching the
second while the first still works on it).

PostgreSQL only: on SQLite the instances are processes sharing one file, and BEGIN
IMMEDIATE runs their transactions one after the other, so they cannot overlap at all.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from shared import inbox
from shared.db import SessionFactory, create_engine, create_tables, session_factory
from shared.runtime import RUNTIME_TABLES
from tests.conftest import PostgresDatabases, database_factory


@pytest.fixture
async def instances(
    tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> AsyncIterator[tuple[SessionFactory, SessionFactory]]:
    url = database_factory("postgresql", tmp_path, postgres_databases).new()
    engines = create_engine(url), create_engine(url)
    await create_tables(engines[0], RUNTIME_TABLES)
    yield session_factory(engines[0]), session_factory(engines[1])
    for engine in engines:
        await engine.dispose()


@pytest.mark.parametrize("first_commits", [True, False])
async def test_the_second_claim_waits_for_the_first_and_applies_only_what_it_left(
    instances: tuple[SessionFactory, SessionFactory], first_commits: bool
) -> None:
    first, second = instances
    event_id = uuid4()
    async with first() as one, second() as other:
        assert await inbox.claim(one, consumer="referral", event_ids=[event_id]) == {event_id}
        racing = asyncio.create_task(inbox.claim(other, consumer="referral", event_ids=[event_id]))
        await asyncio.sleep(0.3)
        assert not racing.done()  # it waits for the first instance's transaction
        await (one.commit() if first_commits else one.rollback())
        # Applied by the first: skipped. The first failed: the second applies it.
        assert await racing == (set() if first_commits else {event_id})
        await other.commit()
