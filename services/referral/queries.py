"""What the secretariat's pages and API list: queues, filters and the dashboard's counts."""

from dataclasses import dataclass
from datetime import datetime
from statistics import median
from uuid import UUID

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.referral.domain import TRIAGE
from services.referral.models import Queue, Referral
from services.referral.service import require_reader
from services.referral.sla import TIMED
from shared.auth import Principal, Role
from shared.db import in_area

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    queue: Queue = "all"
    case_id: UUID | None = None
    status: str | None = None
    destination: str | None = None
    kecamatan: str | None = None
    page: int = 1


def scoped(principal: Principal) -> SelectOfScalar[Referral]:
    """Referrals this user may see: their area, and for a liaison only their agency's."""
    require_reader(principal)
    query = select(Referral).where(in_area(col(Referral.desa_code), principal.area_code))
    if principal.role is Role.LIAISON:
        query = query.where(Referral.destination == principal.agency)
    return query


async def referrals(
    *, session: AsyncSession, principal: Principal, filters: Filters, now: datetime
) -> list[Referral]:
    query = scoped(principal)
    if filters.queue == "open":
        query = query.where(col(Referral.ended_at).is_(None))
    if filters.queue == "overdue":
        query = query.where(
            col(Referral.due_at) < now, col(Referral.status).in_([s.value for s in TIMED])
        )
    if filters.queue == "triage":
        query = query.where(Referral.destination == TRIAGE.code, Referral.status == "created")
    if filters.case_id is not None:
        query = query.where(Referral.case_id == filters.case_id)
    if filters.status:
        query = query.where(Referral.status == filters.status)
    if filters.destination:
        query = query.where(Referral.destination == filters.destination)
    if filters.kecamatan:
        query = query.where(Referral.kecamatan == filters.kecamatan)
    order = col(Referral.due_at) if filters.queue == "overdue" else col(Referral.created_at).desc()
    query = query.order_by(order).offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return list((await session.exec(query)).all())


async def created_in_month(
    *, session: AsyncSession, principal: Principal, month: str
) -> list[Referral]:
    """Referrals created in a calendar month of WIB (`YYYY-MM`), oldest first."""
    query = scoped(principal).where(Referral.created_month == month)
    return list((await session.exec(query.order_by(col(Referral.created_at)))).all())


async def counts_by_status(*, session: AsyncSession, principal: Principal) -> dict[str, int]:
    inner = scoped(principal).subquery()
    query = select(inner.c.status, func.count()).group_by(inner.c.status)
    return {status: count for status, count in (await session.exec(query)).all()}


async def overdue_count(*, session: AsyncSession, principal: Principal, now: datetime) -> int:
    inner = (
        scoped(principal)
        .where(col(Referral.due_at) < now, col(Referral.status).in_([s.value for s in TIMED]))
        .subquery()
    )
    return (await session.exec(select(func.count()).select_from(inner))).one()


@dataclass(frozen=True)
class Row:
    """One line of the dashboard: a group's referrals and how long the completed ones took."""

    key: str
    total: int
    open: int
    completed: int
    median_days: float | None


GROUPS = ("kecamatan", "desa_code", "category", "destination", "created_month")


async def dashboard(*, session: AsyncSession, principal: Principal, by: str) -> list[Row]:
    """Counts and median days to completion, grouped by kecamatan, desa, category,
    destination or month of creation. Counting is SQL's; the medians are taken here over
    the completed referrals' stored durations, since SQLite has no percentile function."""
    inner = scoped(principal).subquery()
    group = inner.c[by]
    counts = select(
        group,
        func.count(),
        func.sum(case((inner.c.ended_at.is_(None), 1), else_=0)),
    ).group_by(group)
    durations = select(group, inner.c.days_to_complete).where(inner.c.days_to_complete.is_not(None))
    days: dict[str, list[float]] = {}
    for key, value in (await session.exec(durations)).all():
        days.setdefault(str(key), []).append(value)
    rows = []
    for key, total, still_open in (await session.exec(counts)).all():
        done = days.get(str(key), [])
        median_days = round(median(done), 1) if done else None
        rows.append(Row(str(key), total, still_open or 0, len(done), median_days))
    return sorted(rows, key=lambda row: row.key)
