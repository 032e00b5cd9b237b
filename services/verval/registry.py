"""Registry snapshots as verval stores them: the civil registry (Dukcapil), DTKS and program
memberships, each imported whole and swapped in at once.

Every row carries its snapshot's id; a kind's current snapshot is the one marked current.
An import writes a new snapshot beside the old and flips the mark in one transaction, so a
reader sees the old registry or the new one, never a mix; the old rows stay until the
next import, so a reader holding the old snapshot still finds them.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, cast, literal
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession


class Kind(StrEnum):
    CIVIL = "civil"
    DTKS = "dtks"
    PROGRAMS = "programs"


class Snapshot(SQLModel, table=True):
    __tablename__ = "registry_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    source: str
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    rows: int = 0
    rejected: int = 0
    current: bool = False


class CivilRecord(SQLModel, table=True):
    """One person in the civil registry extract."""

    __tablename__ = "civil_record"
    __table_args__ = (
        Index("ix_civil_snapshot_nik", "snapshot_id", "nik"),
        Index("ix_civil_snapshot_born", "snapshot_id", "birth_date"),
        Index("ix_civil_snapshot_kk", "snapshot_id", "kk"),
    )

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int
    nik: str
    kk: str
    name: str
    name_key: str  # normalised for matching (see domain.name_key)
    sex: str
    birth_place: str
    birth_date: date
    address: str
    desa_code: str
    alive: bool
    death_date: date | None = None
    relationship: str = ""  # to the head of household; empty when the extract lacks it
    ektp: bool | None = None  # recorded their e-KTP; None when the extract does not say

    @property
    def heads_household(self) -> bool:
        return self.relationship in ("KEPALA KELUARGA", "KEPALA")


class DtksRecord(SQLModel, table=True):
    __tablename__ = "dtks_record"
    __table_args__ = (Index("ix_dtks_snapshot_nik", "snapshot_id", "nik"),)

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int
    id_dtks: str
    nik: str
    kk: str
    desil: int
    ratified_on: date


class Membership(SQLModel, table=True):
    """A person's membership of a program (PBI-JK, JKN, PKH, BPNT, PIP)."""

    __tablename__ = "program_membership"
    __table_args__ = (Index("ix_membership_snapshot_nik", "snapshot_id", "nik"),)

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int
    nik: str
    program: str
    active: bool
    since: date | None = None
    segment: str = ""
    arrears: int = 0


TABLES = [
    Snapshot.__table__,  # type: ignore[attr-defined]
    CivilRecord.__table__,  # type: ignore[attr-defined]
    DtksRecord.__table__,  # type: ignore[attr-defined]
    Membership.__table__,  # type: ignore[attr-defined]
]


async def current_snapshots(session: AsyncSession) -> dict[Kind, int]:
    query = select(Snapshot.kind, Snapshot.id).where(col(Snapshot.current).is_(True))
    return {Kind(kind): snap_id for kind, snap_id in (await session.exec(query)).all() if snap_id}


@dataclass(frozen=True)
class Registry:
    """What the current snapshots say about one NIK."""

    civil: CivilRecord | None
    dtks: DtksRecord | None
    memberships: list[Membership]
    snapshots: dict[Kind, int]  # the current ones this answer was read from

    @property
    def civil_loaded(self) -> bool:
        return Kind.CIVIL in self.snapshots

    @property
    def dtks_loaded(self) -> bool:
        return Kind.DTKS in self.snapshots


def _current(kind: Kind) -> Any:
    query = select(Snapshot.id).where(Snapshot.kind == kind.value, col(Snapshot.current).is_(True))
    return query.scalar_subquery()


async def look_up(session: AsyncSession, nik: str) -> Registry:
    """One statement, so one round trip and one consistent read: the NIK's civil record,
    DTKS record and memberships in the current snapshots, and those snapshots' ids."""
    asked = select(cast(literal(nik), String).label("nik")).subquery()
    snap = {kind: _current(kind) for kind in Kind}
    query = (
        select(CivilRecord, DtksRecord, Membership, *snap.values())
        .select_from(asked)
        .outerjoin(CivilRecord, and_(col(CivilRecord.snapshot_id) == snap[Kind.CIVIL],
                                     col(CivilRecord.nik) == asked.c.nik))
        .outerjoin(DtksRecord, and_(col(DtksRecord.snapshot_id) == snap[Kind.DTKS],
                                    col(DtksRecord.nik) == asked.c.nik))
        .outerjoin(Membership, and_(col(Membership.snapshot_id) == snap[Kind.PROGRAMS],
                                    col(Membership.nik) == asked.c.nik))
    )  # fmt: skip
    rows = (await session.exec(query)).all()
    civil, dtks = rows[0][0], rows[0][1]
    ids: tuple[int | None, ...] = tuple(rows[0][3:])
    snapshots = {kind: snap_id for kind, snap_id in zip(Kind, ids, strict=True) if snap_id}
    members = [row[2] for row in rows if row[2] is not None]
    return Registry(civil, dtks, members, snapshots)


async def born_on(
    session: AsyncSession,
    snaps: dict[Kind, int],
    birth_date: date,
    kecamatan_code: str,
    limit: int = 500,
) -> list[CivilRecord]:
    """People of the civil snapshot `snaps` names born on a day in a kecamatan: the pool of
    candidates when a NIK is not found."""
    if Kind.CIVIL not in snaps:
        return []
    query = select(CivilRecord).where(
        CivilRecord.snapshot_id == snaps[Kind.CIVIL],
        CivilRecord.birth_date == birth_date,
        col(CivilRecord.desa_code).startswith(kecamatan_code + "."),
    )
    return list((await session.exec(query.limit(limit))).all())


async def household(
    session: AsyncSession, snaps: dict[Kind, int], kk: str
) -> tuple[list[CivilRecord], dict[str, set[str]]]:
    """The KK's members in the civil snapshot `snaps` names, and their active programs."""
    if Kind.CIVIL not in snaps:
        return [], {}
    query = select(CivilRecord).where(
        CivilRecord.snapshot_id == snaps[Kind.CIVIL], CivilRecord.kk == kk
    )
    members = list((await session.exec(query.limit(30))).all())
    programs: dict[str, set[str]] = {m.nik: set() for m in members}
    if Kind.PROGRAMS in snaps and members:
        active = select(Membership.nik, Membership.program).where(
            Membership.snapshot_id == snaps[Kind.PROGRAMS],
            col(Membership.nik).in_(list(programs)),
            col(Membership.active).is_(True),
        )
        for nik, program in (await session.exec(active)).all():
            programs[nik].add(program)
    return members, programs


async def dtks_ids(session: AsyncSession, niks: list[str]) -> dict[str, str]:
    """The ID-DTKS of those of these NIKs the current DTKS snapshot holds."""
    snaps = await current_snapshots(session)
    if Kind.DTKS not in snaps or not niks:
        return {}
    query = select(DtksRecord.nik, DtksRecord.id_dtks).where(
        DtksRecord.snapshot_id == snaps[Kind.DTKS], col(DtksRecord.nik).in_(niks)
    )
    return dict((await session.exec(query)).all())


async def disagreements(
    session: AsyncSession, snaps: dict[Kind, int], born_before: date
) -> list[tuple[DtksRecord, CivilRecord | None]]:
    """DTKS members whose civil record says something DTKS does not know: gone from the
    district (no record), deceased, on another KK, or born before `born_before` (17 today)
    without an e-KTP. The life events verval proposes corrections for (life_events.py)."""
    if Kind.CIVIL not in snaps or Kind.DTKS not in snaps:
        return []
    civil = and_(
        col(CivilRecord.snapshot_id) == snaps[Kind.CIVIL], col(CivilRecord.nik) == DtksRecord.nik
    )
    query = (
        select(DtksRecord, CivilRecord)
        .join(CivilRecord, civil, isouter=True)
        .where(
            DtksRecord.snapshot_id == snaps[Kind.DTKS],
            or_(
                col(CivilRecord.id).is_(None),
                col(CivilRecord.alive).is_(False),
                col(CivilRecord.kk) != DtksRecord.kk,
                and_(col(CivilRecord.ektp).is_(False), col(CivilRecord.birth_date) <= born_before),
            ),
        )
        .order_by(col(DtksRecord.kk))
    )
    return [(dtks, person) for dtks, person in (await session.exec(query)).all()]


async def replaced_civil(session: AsyncSession) -> int | None:
    """The civil snapshot the current one replaced (kept until the next import), if any."""
    query = (
        select(Snapshot.id)
        .where(Snapshot.kind == Kind.CIVIL.value, col(Snapshot.current).is_(False))
        .where(col(Snapshot.rows) > 0)  # not an import still under way
        .order_by(col(Snapshot.id).desc())
    )
    return (await session.exec(query)).first()


async def moved(
    session: AsyncSession, snaps: dict[Kind, int], before: int
) -> list[tuple[DtksRecord, CivilRecord, str]]:
    """Living DTKS members whose desa in the current civil snapshot is not the one of the
    snapshot `before`, with that earlier desa: families who moved within the district."""
    if Kind.CIVIL not in snaps or Kind.DTKS not in snaps:
        return []
    now, then = aliased(CivilRecord), aliased(CivilRecord)
    query = (
        select(DtksRecord, now, then.desa_code)
        .join(now, and_(now.snapshot_id == snaps[Kind.CIVIL], now.nik == DtksRecord.nik))
        .join(then, and_(then.snapshot_id == before, then.nik == DtksRecord.nik))
        .where(DtksRecord.snapshot_id == snaps[Kind.DTKS], col(now.alive).is_(True))
        .where(now.desa_code != then.desa_code)
        .order_by(col(DtksRecord.kk))
    )
    return [(dtks, person, desa) for dtks, person, desa in (await session.exec(query)).all()]


async def last_known(session: AsyncSession, before: int, nik: str) -> CivilRecord | None:
    """Someone's record in the civil snapshot `before` (the one the current one replaced):
    where a person who left the district was last."""
    query = select(CivilRecord).where(CivilRecord.snapshot_id == before, CivilRecord.nik == nik)
    return (await session.exec(query)).first()
