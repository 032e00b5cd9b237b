"""Registry snapshots as verval stores them: the civil registry (Dukcapil), DTKS and program
memberships, each imported whole and swapped in at once.

Each snapshot's rows live in a table of their own (`civil_17`, `dtks_18`, ...), so an import
loads its rows into a bare table and builds the indexes once at the end, which is several
times faster than keeping them up to date row by row. A kind's current snapshot is the one
marked current in `registry_snapshot`, and a view per kind (`civil_current`, ...) shows
its table; the import flips the mark and the view in one transaction, so a reader sees the
old registry or the new one, never a mix. A NIK lookup reads the current ids and the rows
through the views in one statement; later reads of the same check go to the tables of those
ids, and the replaced snapshot's table stays until the next import, so they still find it.
"""

import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, get_args

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    FromClause,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    event,
    or_,
    select,
    text,
    true,
)
from sqlmodel import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.table_model import TableModel


class Kind(StrEnum):
    CIVIL = "civil"
    DTKS = "dtks"
    PROGRAMS = "programs"


class Snapshot(TableModel, table=True):
    __tablename__ = "registry_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    source: str
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    rows: int = 0
    rejected: int = 0
    current: bool = False


@dataclass(slots=True)
class CivilRecord:
    """One person in the civil registry extract."""

    nik: str
    kk: str
    name: str
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


@dataclass(slots=True)
class DtksRecord:
    id_dtks: str
    nik: str
    kk: str
    desil: int
    ratified_on: date


@dataclass(slots=True)
class Membership:
    """A person's membership of a program (PBI-JK, JKN, PKH, BPNT, PIP)."""

    nik: str
    program: str
    active: bool
    since: date | None = None
    segment: str = ""
    arrears: int = 0


Record = CivilRecord | DtksRecord | Membership
RECORDS: dict[Kind, type[Record]] = {
    Kind.CIVIL: CivilRecord,
    Kind.DTKS: DtksRecord,
    Kind.PROGRAMS: Membership,
}
INDEXED = {
    Kind.CIVIL: ("nik", "birth_date", "kk"),
    Kind.DTKS: ("nik", "kk"),
    Kind.PROGRAMS: ("nik",),
}
MEMBERS_PER_STATEMENT = 20_000  # about how many DTKS members one life-event statement reads
SQL_TYPES: dict[Any, Any] = {str: String, int: Integer, bool: Boolean, date: Date}
SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[attr-defined]
TABLES = [SNAPSHOTS]


def _column(name: str, annotation: Any) -> Column[Any]:
    optional = isinstance(annotation, UnionType) and NoneType in get_args(annotation)
    kind = next(t for t in get_args(annotation) if t is not NoneType) if optional else annotation
    return Column(name, SQL_TYPES[kind], nullable=optional)


@functools.cache
def _table(name: str, kind: Kind) -> Table:
    return Table(name, MetaData(), *(_column(f.name, f.type) for f in fields(RECORDS[kind])))


def snapshot_table(kind: Kind, snapshot_id: int) -> Table:
    """The table that holds one snapshot's rows, with the record's fields as columns."""
    return _table(f"{kind.value}_{snapshot_id}", kind)


def current_view(kind: Kind) -> Table:
    """The view of the current snapshot's table: a NIK lookup reads it in the same
    statement as the current snapshot's id, so it needs no round trip to learn the id."""
    return _table(f"{kind.value}_current", kind)


def current_view_statements(kind: Kind, snapshot_id: int) -> list[str]:
    """Point a kind's current view at a snapshot's table (in the swap's transaction)."""
    view, table = current_view(kind).name, snapshot_table(kind, snapshot_id).name
    return [f"DROP VIEW IF EXISTS {view}", f"CREATE VIEW {view} AS SELECT * FROM {table}"]


@event.listens_for(SNAPSHOTS, "after_create")
def _empty_registry(_: Table, connection: Connection, **__: Any) -> None:
    """Until a kind's first import, its current view shows an empty table (snapshot 0)."""
    for kind in Kind:
        snapshot_table(kind, 0).create(connection, checkfirst=True)
        for statement in current_view_statements(kind, 0):
            connection.execute(text(statement))


def snapshot_indexes(kind: Kind, snapshot_id: int) -> list[str]:
    """The statements that index a snapshot's table, once its rows are in. Plain DDL: an
    Index object would attach itself to the cached Table and be created with it next time."""
    table = snapshot_table(kind, snapshot_id).name
    return [f"CREATE INDEX ix_{table}_{name} ON {table} ({name})" for name in INDEXED[kind]]


def _records(row: Sequence[Any], *parts: tuple[Kind, FromClause]) -> list[Any]:
    """A row of several snapshot tables' columns, as one record per table (None where an
    outer join found nothing)."""
    records, at = [], 0
    for kind, table in parts:
        values = dict(zip(table.c.keys(), row[at : at + len(table.c)], strict=True))
        at += len(table.c)
        records.append(RECORDS[kind](**values) if values["nik"] is not None else None)
    return records


async def _rows(
    session: AsyncSession, query: Select[Any], params: dict[str, Any] | None = None
) -> list[Any]:
    """Run a Core query (snapshot tables have no ORM class) in the session's transaction."""
    return list((await (await session.connection()).execute(query, params)).all())


async def current_snapshots(session: AsyncSession) -> dict[Kind, int]:
    snaps = SNAPSHOTS.c
    query = select(snaps.kind, snaps.id).where(snaps.current.is_(True))
    return {Kind(kind): snap_id for kind, snap_id in await _rows(session, query)}


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


def _current_id(kind: Kind) -> Any:
    snaps = SNAPSHOTS.c
    return select(snaps.id).where(snaps.kind == kind.value, snaps.current.is_(True))


@functools.cache
def _look_up_query() -> Select[Any]:
    """Built once: building it took longer than running it."""
    asked = select(bindparam("nik", type_=String).label("nik")).subquery()
    query = select(*(_current_id(kind).scalar_subquery() for kind in Kind)).select_from(asked)
    for view in map(current_view, Kind):
        query = query.add_columns(*view.c).outerjoin(view, view.c.nik == asked.c.nik)
    return query


async def look_up(session: AsyncSession, nik: str) -> Registry:
    """One statement, so one round trip and one consistent read: the current snapshots'
    ids, and the NIK's civil record, DTKS record and memberships in their views."""
    views = {kind: current_view(kind) for kind in Kind}
    rows = await _rows(session, _look_up_query(), {"nik": nik})
    ids = dict(zip(Kind, rows[0][: len(Kind)], strict=True))
    found: dict[Kind, list[Any]] = {kind: [] for kind in Kind}
    for row in rows:
        for kind, record in zip(Kind, _records(row[len(Kind) :], *views.items()), strict=True):
            if record is not None and record not in found[kind]:  # one per joined row
                found[kind].append(record)
    civil, dtks = found[Kind.CIVIL], found[Kind.DTKS]
    snaps = {kind: snap_id for kind, snap_id in ids.items() if snap_id}
    return Registry(civil[0] if civil else None, dtks[0] if dtks else None,
                    found[Kind.PROGRAMS], snaps)  # fmt: skip


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
    civil = snapshot_table(Kind.CIVIL, snaps[Kind.CIVIL])
    query = select(civil).where(
        civil.c.birth_date == birth_date, civil.c.desa_code.startswith(kecamatan_code + ".")
    )
    rows = await _rows(session, query.limit(limit))
    return [_records(row, (Kind.CIVIL, civil))[0] for row in rows]


async def household(
    session: AsyncSession, snaps: dict[Kind, int], kk: str
) -> tuple[list[CivilRecord], dict[str, set[str]]]:
    """The KK's members in the civil snapshot `snaps` names, and their active programs."""
    if Kind.CIVIL not in snaps:
        return [], {}
    civil = snapshot_table(Kind.CIVIL, snaps[Kind.CIVIL])
    query = select(civil).where(civil.c.kk == kk).limit(30)
    members = [_records(row, (Kind.CIVIL, civil))[0] for row in await _rows(session, query)]
    programs: dict[str, set[str]] = {m.nik: set() for m in members}
    if Kind.PROGRAMS in snaps and members:
        held = snapshot_table(Kind.PROGRAMS, snaps[Kind.PROGRAMS])
        active = select(held.c.nik, held.c.program).where(
            held.c.nik.in_(list(programs)), held.c.active.is_(True)
        )
        for nik, program in await _rows(session, active):
            programs[nik].add(program)
    return members, programs


async def dtks_ids(session: AsyncSession, niks: list[str]) -> dict[str, str]:
    """The ID-DTKS of those of these NIKs the current DTKS snapshot holds."""
    snaps = await current_snapshots(session)
    if Kind.DTKS not in snaps or not niks:
        return {}
    dtks = snapshot_table(Kind.DTKS, snaps[Kind.DTKS])
    query = select(dtks.c.nik, dtks.c.id_dtks).where(dtks.c.nik.in_(niks))
    return {nik: id_dtks for nik, id_dtks in await _rows(session, query)}


async def _households(session: AsyncSession, dtks: Table) -> AsyncIterator[Any]:
    """Conditions that split a DTKS snapshot into runs of whole households (by KK), each
    about MEMBERS_PER_STATEMENT members: one statement over a district's 1.2 million
    members held verval's only SQLite connection for 4 s, and every desk's pre-check with it."""
    after: str | None = None
    while True:
        query = select(dtks.c.kk).order_by(dtks.c.kk).offset(MEMBERS_PER_STATEMENT).limit(1)
        bounds = [] if after is None else [dtks.c.kk > after]
        upto = await _rows(session, query.where(*bounds))
        yield and_(true(), *bounds, *([dtks.c.kk <= upto[0][0]] if upto else []))
        if not upto:
            return
        after = upto[0][0]


async def disagreements(
    session: AsyncSession, snaps: dict[Kind, int], born_before: date
) -> AsyncIterator[list[tuple[DtksRecord, CivilRecord | None]]]:
    """DTKS members whose civil record says something DTKS does not know: gone from the
    district (no record), deceased, on another KK, or born before `born_before` (17 today)
    without an e-KTP, in runs of whole households. The life events verval proposes
    corrections for (life_events.py)."""
    if Kind.CIVIL not in snaps or Kind.DTKS not in snaps:
        return
    dtks = snapshot_table(Kind.DTKS, snaps[Kind.DTKS])
    civil = snapshot_table(Kind.CIVIL, snaps[Kind.CIVIL]).alias("civil")
    query = (
        select(dtks, civil)
        .join(civil, civil.c.nik == dtks.c.nik, isouter=True)
        .where(
            or_(
                civil.c.nik.is_(None),
                civil.c.alive.is_(False),
                civil.c.kk != dtks.c.kk,
                and_(civil.c.ektp.is_(False), civil.c.birth_date <= born_before),
            )
        )
        .order_by(dtks.c.kk)
    )
    parts = (Kind.DTKS, dtks), (Kind.CIVIL, civil)
    async for households in _households(session, dtks):
        rows = await _rows(session, query.where(households))
        yield [(listed, person) for listed, person in (_records(row, *parts) for row in rows)]


async def replaced_civil(session: AsyncSession) -> int | None:
    """The civil snapshot the current one replaced (kept until the next import), if any."""
    snaps = SNAPSHOTS.c
    query = (
        select(snaps.id)
        .where(snaps.kind == Kind.CIVIL.value, snaps.current.is_(False))
        .where(snaps.rows > 0)  # not an import still under way
        .order_by(snaps.id.desc())
        .limit(1)
    )
    found = await _rows(session, query)
    return int(found[0][0]) if found else None


async def moved(
    session: AsyncSession, snaps: dict[Kind, int], before: int
) -> AsyncIterator[list[tuple[DtksRecord, CivilRecord, str]]]:
    """Living DTKS members whose desa in the current civil snapshot is not the one of the
    snapshot `before`, with that earlier desa, in runs of whole households: families who
    moved within the district."""
    if Kind.CIVIL not in snaps or Kind.DTKS not in snaps:
        return
    dtks = snapshot_table(Kind.DTKS, snaps[Kind.DTKS])
    now = snapshot_table(Kind.CIVIL, snaps[Kind.CIVIL]).alias("now")
    then = snapshot_table(Kind.CIVIL, before).alias("then")
    query = (
        select(dtks, now, then.c.desa_code.label("desa_before"))
        .join(now, now.c.nik == dtks.c.nik)
        .join(then, then.c.nik == dtks.c.nik)
        .where(now.c.alive.is_(True), now.c.desa_code != then.c.desa_code)
        .order_by(dtks.c.kk)
    )
    parts = (Kind.DTKS, dtks), (Kind.CIVIL, now)
    async for households in _households(session, dtks):
        rows = await _rows(session, query.where(households))
        yield [(*_records(row[:-1], *parts), row[-1]) for row in rows]


async def last_known(session: AsyncSession, before: int, nik: str) -> CivilRecord | None:
    """Someone's record in the civil snapshot `before` (the one the current one replaced):
    where a person who left the district was last."""
    then = snapshot_table(Kind.CIVIL, before)
    rows = await _rows(session, select(then).where(then.c.nik == nik).limit(1))
    return _records(rows[0], (Kind.CIVIL, then))[0] if rows else None
