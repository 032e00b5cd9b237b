"""What the secretariat's pages and API list: queues, filters and the dashboard's counts."""

from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.referral.domain import TRIAGE
from services.referral.models import Queue, Referral
from services.referral.service import require_reader
from services.referral.sla import TIMED, WIB
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
    *, session: AsyncSession, principal: Principal, year: int, month: int
) -> list[Referral]:
    """Referrals created in a calendar month of WIB, oldest first."""
    start = datetime(year, month, 1, tzinfo=WIB)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WIB)
    query = scoped(principal).where(
        col(Referral.created_at) >= start.astimezone(UTC),
        col(Referral.created_at) < end.astimezone(UTC),
    )
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


GROUPS = ("kecamatan", "desa_code", "category", "destination", "month")


async def dashboard(*, session: AsyncSession, principal: Principal, by: str) -> list[Row]:
    """Counts and median days to completion, grouped by kecamatan, desa, category,
    destination or month of creation. Medians are taken here: SQLite has no percentile."""
    inner = scoped(principal).subquery()
    group = inner.c.created_at if by == "month" else inner.c[by]
    query = select(group, inner.c.status, inner.c.created_at, inner.c.ended_at)
    rows: dict[str, list[tuple[str, datetime, datetime | None]]] = {}
    for key, status, created, ended in (await session.exec(query)).all():
        label = created.strftime("%Y-%m") if by == "month" else str(key)
        rows.setdefault(label, []).append((status, created, ended))
    return [_row(key, items) for key, items in sorted(rows.items())]


def _row(key: str, items: list[tuple[str, datetime, datetime | None]]) -> Row:
    days = [
        (ended - created).total_seconds() / 86400
        for status, created, ended in items
        if status == "completed" and ended is not None
    ]
    return Row(
        key=key,
        total=len(items),
        open=sum(1 for _, _, ended in items if ended is None),
        completed=len(days),
        median_days=round(median(days), 1) if days else None,
    )
