"""Overdue referrals are escalated once per step, by a scheduler that reads the state, so a
restart or a downtime skips nothing. The clock is the test's."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from services.referral import service
from services.referral.app import create_app
from services.referral.models import Referral
from services.referral.settings import Settings
from shared.runtime import ServiceRuntime
from slrt.natsserver import NatsServer
from tests.events import case_escalated, case_verified
from tests.referral.conftest import ReferralDesk

# Friday 14 August 2026, 09:00 WIB: Monday the 17th is Independence Day.
FRIDAY = datetime(2026, 8, 14, 2, 0, tzinfo=UTC)
TUESDAY_CLOSE = datetime(2026, 8, 18, 9, 0, tzinfo=UTC)  # 16:00 WIB


async def _arrive_at(runtime: ServiceRuntime, now: datetime) -> Referral:
    verified = case_verified()
    async with runtime.sessions() as session:
        await service.note_verified(session=session, verified=verified, now=now)
        await service.note_escalated(session=session, escalated=case_escalated(verified), now=now)
        await session.commit()
        return (
            await session.exec(select(Referral).where(Referral.case_id == verified.case_id))
        ).one()


async def _raise(runtime: ServiceRuntime, now: datetime) -> int:
    async with runtime.sessions() as session:
        raised = await service.raise_overdue(session=session, now=now)
        await session.commit()
        return raised


async def test_a_step_is_overdue_after_its_working_days_across_a_holiday(
    desk: ReferralDesk,
) -> None:
    referral = await _arrive_at(desk.runtime, FRIDAY)
    assert referral.due_at is not None
    # One working day to send it: Monday is a holiday, so it is due Tuesday at closing.
    assert await _raise(desk.runtime, datetime(2026, 8, 17, 12, 0, tzinfo=UTC)) == 0
    assert await _raise(desk.runtime, TUESDAY_CLOSE - timedelta(minutes=1)) == 0
    assert await _raise(desk.runtime, TUESDAY_CLOSE + timedelta(minutes=1)) == 1
    (overdue,) = await desk.events("referral.overdue")
    assert overdue["referral_id"] == str(referral.id)
    assert overdue["status"] == "created"


async def test_an_escalation_is_raised_once_and_again_for_the_next_late_step(
    desk: ReferralDesk,
) -> None:
    referral = await _arrive_at(desk.runtime, FRIDAY)
    late = TUESDAY_CLOSE + timedelta(hours=1)
    assert await _raise(desk.runtime, late) == 1
    assert await _raise(desk.runtime, late + timedelta(days=3)) == 0
    assert (await desk.act(referral.id, "send")).status_code == 200  # a new step, a new clock
    assert await _raise(desk.runtime, datetime.now(UTC) + timedelta(days=60)) == 1
    assert len(await desk.events("referral.overdue")) == 2


async def test_two_schedulers_at_once_raise_each_escalation_once(desk: ReferralDesk) -> None:
    for _ in range(5):
        await _arrive_at(desk.runtime, FRIDAY)
    late = TUESDAY_CLOSE + timedelta(hours=1)
    raised = await asyncio.gather(_raise(desk.runtime, late), _raise(desk.runtime, late))
    assert sum(raised) == 5
    assert len(await desk.events("referral.overdue")) == 5


async def test_a_restart_after_a_downtime_still_escalates_what_fell_due_meanwhile(
    provisioned_nats: NatsServer, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        nats_url=provisioned_nats.url,
        database_url=database_url,
        var_dir=tmp_path,
        log_json=False,
        overdue_check_seconds=3600,  # checks once at start, then sleeps past this test
    )
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        await asyncio.sleep(0.2)  # its one check has run, before the referral existed
        referral = await _arrive_at(first.state.runtime, datetime.now(UTC) - timedelta(days=30))
    # Down while the referral fell due; the restarted process must still escalate it.
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        for _ in range(100):
            async with second.state.runtime.sessions() as session:
                stored = await session.get(Referral, referral.id)
            if stored is not None and stored.overdue_raised_at is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the restarted scheduler did not escalate")
