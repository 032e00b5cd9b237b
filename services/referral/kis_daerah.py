"""KIS Daerah: the district pays health cover for people waiting on their national PBI-JK.

A person referred for PBI-JK is covered by the district while there is room in its yearly
quota, and waits in line otherwise (urgent cases first, then the earliest). When their
national referral ends (the national card arrived, or the proposal ended without it), the
place is released and offered to the next person waiting. The quota row is locked while
places are counted, so two referrals at once cannot overfill it.
"""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral.models import Referral, ReferralStep
from services.referral.routing import EDITORS
from shared.accounts import audit
from shared.areas import WIB
from shared.auth import Principal
from shared.errors import Refusal
from shared.table_model import TableModel


class PlaceStatus(StrEnum):
    COVERED = "covered"
    WAITING = "waiting"
    RELEASED = "released"


PLACE_LABELS = {
    PlaceStatus.COVERED: "Ditanggung KIS Daerah sementara",
    PlaceStatus.WAITING: "Menunggu tempat KIS Daerah",
    PlaceStatus.RELEASED: "Tempat KIS Daerah dilepas",
}


class Quota(TableModel, table=True):
    """How many people the district covers at once in a year."""

    __tablename__ = "kis_daerah_quota"

    year: int = Field(primary_key=True)
    places: int = Field(ge=0)


class Place(TableModel, table=True):
    """One person's claim on the district's cover, for one national referral."""

    __tablename__ = "kis_daerah_place"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: UUID = Field(unique=True)
    case_id: UUID = Field(index=True)
    year: int = Field(index=True)
    urgent: bool = False
    status: str = Field(index=True)
    requested_at: datetime
    covered_at: datetime | None = None
    released_at: datetime | None = None


class QuotaUse(SQLModel):
    year: int
    places: int
    covered: int
    waiting: int


TABLES = [Quota.__table__, Place.__table__]  # type: ignore[attr-defined]


def _year(moment: datetime) -> int:
    return moment.astimezone(WIB).year


async def _locked_quota(session: AsyncSession, year: int) -> int:
    query = select(Quota).where(Quota.year == year).with_for_update()
    quota = (await session.exec(query)).first()
    return quota.places if quota is not None else 0


async def _count(session: AsyncSession, year: int, status: PlaceStatus) -> int:
    query = select(func.count()).where(Place.year == year, Place.status == status.value)
    return (await session.exec(query)).one()


async def request_place(*, session: AsyncSession, referral: Referral, now: datetime) -> Place:
    """Cover the person now if the year's quota has room, else put them in line."""
    year = _year(now)
    room = await _locked_quota(session, year) - await _count(session, year, PlaceStatus.COVERED)
    place = await place_of(session=session, referral_id=referral.id)
    if place is None:
        place = Place(
            referral_id=referral.id,
            case_id=referral.case_id,
            year=year,
            status=PlaceStatus.WAITING.value,
            requested_at=now,
        )
    place.year, place.urgent, place.requested_at = year, referral.urgent, now
    place.released_at = None
    if room > 0:
        _cover(session, place, now)
    else:
        _wait(session, place)
    return place


def _cover(session: AsyncSession, place: Place, now: datetime) -> None:
    place.status, place.covered_at = PlaceStatus.COVERED.value, now
    session.add(place)
    _note(session, place, PlaceStatus.COVERED, now)


def _wait(session: AsyncSession, place: Place) -> None:
    place.status = PlaceStatus.WAITING.value
    session.add(place)
    _note(session, place, PlaceStatus.WAITING, place.requested_at)


def _note(session: AsyncSession, place: Place, status: PlaceStatus, now: datetime) -> None:
    """KIS Daerah's steps go on the national referral's timeline."""
    session.add(
        ReferralStep(
            referral_id=place.referral_id,
            at=now,
            command="kis_daerah",
            previous_status="",
            status="",
            note=PLACE_LABELS[status],
            username="service:referral",
            role="service",
        )
    )


async def release_place(*, session: AsyncSession, referral: Referral, now: datetime) -> None:
    """The national referral ended: free its place and offer it to whoever waits longest."""
    place = await place_of(session=session, referral_id=referral.id)
    if place is None or place.status == PlaceStatus.RELEASED.value:
        return
    freed = place.status == PlaceStatus.COVERED.value
    place.status, place.released_at = PlaceStatus.RELEASED.value, now
    session.add(place)
    _note(session, place, PlaceStatus.RELEASED, now)
    if freed:
        await _offer_places(session, place.year, now)


async def _offer_places(session: AsyncSession, year: int, now: datetime) -> int:
    room = await _locked_quota(session, year) - await _count(session, year, PlaceStatus.COVERED)
    if room <= 0:
        return 0
    query = (
        select(Place)
        .where(Place.year == year, Place.status == PlaceStatus.WAITING.value)
        .order_by(col(Place.urgent).desc(), col(Place.requested_at), col(Place.id))
        .limit(room)
    )
    waiting = list((await session.exec(query)).all())
    for place in waiting:
        _cover(session, place, now)
    return len(waiting)


async def set_quota(
    *, session: AsyncSession, principal: Principal, year: int, places: int, now: datetime
) -> QuotaUse:
    """The district's yearly quota; raising it offers the new room to people in line."""
    if principal.role not in EDITORS:
        raise Refusal(403, "Hanya admin dan kepala sekretariat yang mengubah kuota KIS Daerah.")
    covered = await _count(session, year, PlaceStatus.COVERED)
    if places < covered:
        raise Refusal(409, f"Kuota tidak boleh di bawah {covered} orang yang sedang ditanggung.")
    quota = await session.get(Quota, year) or Quota(year=year, places=places)
    quota.places = places
    session.add(quota)
    await session.flush()
    await _offer_places(session, year, now)
    audit(
        session=session, principal=principal, action="kis_daerah.quota", purpose=f"{year}: {places}"
    )
    return await use_of(session=session, year=year)


async def use_of(*, session: AsyncSession, year: int) -> QuotaUse:
    quota = await session.get(Quota, year)
    return QuotaUse(
        year=year,
        places=quota.places if quota is not None else 0,
        covered=await _count(session, year, PlaceStatus.COVERED),
        waiting=await _count(session, year, PlaceStatus.WAITING),
    )


async def place_of(*, session: AsyncSession, referral_id: UUID) -> Place | None:
    return (await session.exec(select(Place).where(Place.referral_id == referral_id))).first()
