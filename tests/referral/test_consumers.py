"""Referral's consumer applies a fetch of verified cases together, and a case twice in one
fetch still ends with the later facts."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import event
from sqlmodel import select

from services.referral import service
from services.referral.models import CaseFile
from tests.events import case_verified, publish
from tests.referral.conftest import ReferralDesk


async def test_a_batch_of_verified_cases_is_written_at_commit_not_once_per_case(
    desk: ReferralDesk,
) -> None:
    inserts: list[str] = []

    def record(_: Any, __: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO case_file"):
            inserts.append(statement)

    engine = desk.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with desk.runtime.sessions() as session:
            for _ in range(3):  # not urgent, not at the district: nothing to refer yet
                verified = case_verified()
                await service.note_verified(
                    session=session, verified=verified, now=datetime.now(UTC)
                )
            await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(inserts) == 1  # one statement for the three rows; a flush per case made three


async def test_a_case_verified_twice_in_one_fetch_keeps_the_later_facts(
    desk: ReferralDesk,
) -> None:
    """The three events wait while referral's consumers are stopped, as after a restart,
    and come back as one fetch: the second finds the file the first added, unwritten."""
    await desk.runtime.broker_connected.wait()  # its consumers are running then
    consumers, connection = desk.runtime.consumers, desk.runtime.broker.connection
    await consumers.stop()
    case_id = uuid4()
    first = case_verified(case_id, desil=3)
    later = case_verified(case_id, desil=5, registration_number=first.registration_number)
    other = case_verified()
    for verified in (first, later, other):
        await publish(desk.runtime.settings.nats_url, verified)
    consumers.start(connection)

    for _ in range(100):
        async with desk.runtime.sessions() as session:
            found = {f.case_id: f.desil for f in (await session.exec(select(CaseFile))).all()}
        if found == {case_id: 5, other.case_id: other.desil}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"case files after the fetch: {found}")
