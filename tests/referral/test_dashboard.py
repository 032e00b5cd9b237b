"""The dashboard's counts and medians, and the monthly report, over stored referrals."""

from datetime import UTC, datetime
from uuid import uuid4

from services.referral import queries
from services.referral.models import Referral
from shared.auth import Principal, Role
from tests.referral.conftest import ReferralDesk

HEAD = Principal("kepala", Role.SECRETARIAT_HEAD, "33.17")


def _referral(desa: str, status: str, days: float | None, month: str = "2026-10") -> Referral:
    ended = datetime(2026, 11, 1, tzinfo=UTC) if status in ("completed", "rejected") else None
    return Referral(
        case_id=uuid4(),
        kabupaten="33.17",
        kecamatan=desa[:8],
        desa_code=desa,
        category="pkh",
        destination="pkh",
        status=status,
        created_month=month,
        ended_at=ended,
        days_to_complete=days,
    )


async def test_counts_and_median_days_per_kecamatan_and_month(desk: ReferralDesk) -> None:
    async with desk.runtime.sessions() as session:
        for referral in (
            _referral("33.17.01.2001", "completed", 2.0),
            _referral("33.17.01.2002", "completed", 10.0),
            _referral("33.17.01.2002", "completed", 4.0, month="2026-11"),
            _referral("33.17.01.2001", "sent", None),
            _referral("33.17.14.2008", "rejected", None),
        ):
            session.add(referral)
        await session.commit()
        by_kecamatan = await queries.dashboard(session=session, principal=HEAD, by="kecamatan")
        by_month = await queries.dashboard(session=session, principal=HEAD, by="created_month")
        report = await queries.created_in_month(session=session, principal=HEAD, month="2026-10")
    assert [(r.key, r.total, r.open, r.completed, r.median_days) for r in by_kecamatan] == [
        ("33.17.01", 4, 1, 3, 4.0),
        ("33.17.14", 1, 0, 0, None),
    ]
    assert [(r.key, r.total) for r in by_month] == [("2026-10", 4), ("2026-11", 1)]
    assert len(report) == 4
