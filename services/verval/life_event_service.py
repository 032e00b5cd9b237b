"""Compare each new pair of current civil and DTKS snapshots for life events, and open the
correction or removal proposal each needs for its village to draft (rules: life_events.py).

A pair is compared once; a crash part-way is harmless, since an event's proposal is keyed
by the event and the next round compares the pair again.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import registry
from services.verval.life_events import (
    FAMILY_PROGRAMS,
    LifeEvent,
    born_by,
    household_events,
    left_district,
    moved_within,
)
from services.verval.models import LifeEventScan, Proposal
from services.verval.proposal_service import for_resident, record_step
from services.verval.proposals import Status
from services.verval.registry import CivilRecord, DtksRecord, Kind
from shared.areas import DesaPath
from shared.auth import service_actor
from shared.logging import current_trace_id

# A transaction holds verval's database connection (SQLite: the only one) the while: small
# ones, and a turn for whoever waits after each, keep pre-checks and case checks answered.
HOUSEHOLDS_PER_TRANSACTION = 5


@dataclass
class ScanResult:
    households: int = 0
    opened: int = 0
    unplaced: int = 0


async def scan(
    session: AsyncSession, today: date, area_name: Callable[[str], str] = str
) -> ScanResult | None:
    """Open the proposals the current snapshots' disagreements need; None if this pair of
    snapshots was compared already (or one of them is not imported yet)."""
    snaps = await registry.current_snapshots(session)
    if Kind.CIVIL not in snaps or Kind.DTKS not in snaps:
        return None
    pair = (snaps[Kind.CIVIL], snaps[Kind.DTKS])
    if await session.get(LifeEventScan, pair) is not None:
        return None
    result, before = ScanResult(), await registry.replaced_civil(session)
    async for run in registry.disagreements(session, snaps, born_by(today)):
        households: dict[str, list[tuple[DtksRecord, CivilRecord | None]]] = defaultdict(list)
        for dtks, civil in run:
            households[dtks.kk].append((dtks, civil))
        for dtks_kk, rows in households.items():
            await _household(session, (snaps, before), dtks_kk, rows, today, result)
            result.households += 1
            if result.households % HOUSEHOLDS_PER_TRANSACTION == 0:
                await session.commit()
                await asyncio.sleep(0)  # a session waiting for the connection takes it now
    if before is not None:
        await _moved_within(session, (snaps, before), today, area_name, result)
    session.add(LifeEventScan(civil_snapshot_id=pair[0], dtks_snapshot_id=pair[1],
                              opened=result.opened, unplaced=result.unplaced))  # fmt: skip
    await session.commit()
    return result


async def _household(
    session: AsyncSession,
    compared: tuple[dict[Kind, int], int | None],
    dtks_kk: str,
    rows: list[tuple[DtksRecord, CivilRecord | None]],
    today: date,
    result: ScanResult,
) -> None:
    """The events of one DTKS household: `compared` holds the current snapshots and the
    civil snapshot before, if kept."""
    snaps, before = compared
    ids = {dtks.nik: dtks.id_dtks for dtks, _ in rows}
    members = [civil for _, civil in rows if civil is not None]
    known = {m.nik: m for m in members}
    family: list[CivilRecord] = []
    programs: list[str] = []
    head = next((m for m in members if not m.alive and m.heads_household), None)
    if head is not None:
        family, held = await registry.household(session, snaps, head.kk)
        programs = [p for p in FAMILY_PROGRAMS if p in held.get(head.nik, set())]
        known |= {m.nik: m for m in family}
    events = household_events(dtks_kk, members, family, programs, today)
    for dtks, civil in rows:
        if civil is None:
            last = await registry.last_known(session, before, dtks.nik) if before else None
            if last is None:
                result.unplaced += 1
                continue
            known[dtks.nik] = last
            events.append(left_district(dtks.nik, last))
    heirs = [e.nik for e in events if e.nik not in ids]
    ids |= await registry.dtks_ids(session, heirs) if heirs else {}
    for event in events:
        subject = known[event.nik]
        id_dtks = ids.get(event.nik) or ids[rows[0][0].nik]  # an heir not in DTKS: the family's
        result.opened += await _open(session, event, subject, id_dtks, today)


async def _moved_within(
    session: AsyncSession,
    compared: tuple[dict[Kind, int], int],
    today: date,
    area_name: Callable[[str], str],
    result: ScanResult,
) -> None:
    """Families in DTKS who live in another desa than in the civil snapshot before."""
    snaps, before = compared
    async for run in registry.moved(session, snaps, before):
        families: dict[str, list[tuple[DtksRecord, CivilRecord, str]]] = defaultdict(list)
        for row in run:
            families[row[0].kk].append(row)
        for dtks_kk, rows in families.items():
            people = [person for _, person, _ in rows]
            event = moved_within(dtks_kk, people, area_name(rows[0][2]))
            subject = next(person for person in people if person.nik == event.nik)
            ids = {dtks.nik: dtks.id_dtks for dtks, _, _ in rows}
            result.opened += await _open(session, event, subject, ids[event.nik], today)
        await session.commit()
        await asyncio.sleep(0)


async def _open(
    session: AsyncSession, event: LifeEvent, subject: CivilRecord, id_dtks: str, today: date
) -> int:
    """The event's proposal, unless it was opened before; how many were opened."""
    taken = select(Proposal.id).where(col(Proposal.life_event) == event.key)
    if (await session.exec(taken)).first() is not None:
        return 0
    proposal = for_resident(
        subject, (event.kind, "DTKS"), (True, id_dtks), today,
        status=Status.OPEN, reason=event.reason, life_event=event.key,
    )  # fmt: skip
    session.add(proposal)
    actor = service_actor("verval", DesaPath.of(subject.desa_code).kabupaten)
    note = f"Dibuka otomatis dari data Dukcapil: {event.reason}"
    record_step(session, proposal, actor, note, current_trace_id())
    return 1
