"""Home visits' use cases: open a task for a new DTKS registration, record what the officer
found (checklist, photos, verdict), list what is open and overdue. Reads and the record
are audited."""

import json
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval.models import Proposal, Visit, VisitPhoto
from services.verval.visits import (
    MAX_PHOTOS,
    PHOTO_MAX_BYTES,
    PHOTO_TYPES,
    VERDICT_LABELS,
    Verdict,
    check_visitor,
    checked_items,
    due_on,
)
from shared.accounts import audit
from shared.auth import Principal
from shared.contracts import Actor, AreaCodes, VisitUpdated
from shared.errors import Refusal
from shared.logging import current_trace_id
from shared.outbox import add_event


def open_for_proposal(
    session: AsyncSession, proposal: Proposal, today: date, actor: Actor, trace_id: str
) -> Visit:
    """A registration new to DTKS is seen at home before the musyawarah desa decides."""
    assert proposal.case_id is not None
    visit = Visit(
        case_id=proposal.case_id,
        proposal_id=proposal.id,
        registration_number=proposal.registration_number,
        desa_code=proposal.desa_code,
        household_key=proposal.household_key,
        name=proposal.name,
        address=proposal.address,
        reason=proposal.reason,
        due_on=due_on(today),
    )
    session.add(visit)
    _tell_the_case(session, visit, actor, trace_id)
    return visit


def _tell_the_case(session: AsyncSession, visit: Visit, actor: Actor, trace_id: str) -> None:
    """`visit.updated` for the case's timeline at intake: assigned, then done."""
    verdict = VERDICT_LABELS[Verdict(visit.verdict)] if visit.verdict else ""
    add_event(
        session,
        VisitUpdated(
            case_id=visit.case_id,
            area=AreaCodes.of_desa(visit.desa_code),
            trace_id=trace_id,
            actor=actor,
            visit_id=visit.id,
            registration_number=visit.registration_number,
            due_on=visit.due_on,
            visited_on=visit.visited_on,
            verdict_label=verdict,
        ),
    )


async def visits(
    *, session: AsyncSession, principal: Principal, open_only: bool = True
) -> list[Visit]:
    """Visits in the user's area, the oldest due first."""
    query = select(Visit)
    if open_only:
        query = query.where(col(Visit.visited_on).is_(None))
    rows = (await session.exec(query.order_by(col(Visit.due_on)))).all()
    return [v for v in rows if principal.covers(v.desa_code)]


async def of_proposal(session: AsyncSession, proposal_id: UUID) -> Visit | None:
    return (await session.exec(select(Visit).where(Visit.proposal_id == proposal_id))).first()


async def find(session: AsyncSession, principal: Principal, visit_id: UUID) -> Visit:
    visit = await session.get(Visit, visit_id)
    if visit is None or not principal.covers(visit.desa_code):
        raise Refusal(404, "Kunjungan tidak ditemukan.")
    audit(
        session=session,
        principal=principal,
        action="visit.read",
        purpose=f"kunjungan {visit.id}",
        case_id=visit.case_id,
    )
    return visit


@dataclass(frozen=True)
class Photo:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Findings:
    visited_on: date
    checklist: list[str]
    verdict: Verdict
    note: str
    photos: list[Photo]


async def record(
    *,
    session: AsyncSession,
    principal: Principal,
    visit_id: UUID,
    findings: Findings,
    today: date,
) -> Visit:
    """What the officer saw, with at least one photo of the house."""
    visit = await find(session, principal, visit_id)
    check_visitor(principal, visit.desa_code, done=visit.visited_on is not None)
    if principal.household_key and principal.household_key == visit.household_key:
        raise Refusal(403, "Konflik kepentingan: petugas lain mengunjungi keluarga (KK) Anda.")
    if findings.visited_on > today:
        raise Refusal(422, "Tanggal kunjungan tidak boleh di masa depan.")
    _check_photos(findings.photos)
    visit.checklist_json = json.dumps(checked_items(findings.checklist))
    visit.verdict, visit.note = findings.verdict.value, findings.note.strip()[:1000]
    visit.visited_on, visit.visited_by = findings.visited_on, principal.username
    for photo in findings.photos:
        session.add(
            VisitPhoto(
                visit_id=visit.id,
                filename=photo.filename[:200],
                content_type=photo.content_type,
                content=photo.content,
            )
        )
    audit(
        session=session,
        principal=principal,
        action="visit.record",
        purpose=f"kunjungan {visit.id}: {visit.verdict}",
        case_id=visit.case_id,
    )
    _tell_the_case(session, visit, principal.actor(), current_trace_id())
    await session.commit()
    return visit


def _check_photos(photos: list[Photo]) -> None:
    if not photos:
        raise Refusal(422, "Lampirkan paling sedikit satu foto rumah (depan atau samping).")
    if len(photos) > MAX_PHOTOS:
        raise Refusal(422, f"Paling banyak {MAX_PHOTOS} foto.")
    for photo in photos:
        if photo.content_type not in PHOTO_TYPES:
            raise Refusal(422, f"Foto {photo.filename} harus JPG atau PNG.")
        if len(photo.content) > PHOTO_MAX_BYTES:
            raise Refusal(413, f"Foto {photo.filename} terlalu besar (paling besar 3 MB).")


async def photos_of(session: AsyncSession, visit_id: UUID) -> list[UUID]:
    query = select(VisitPhoto.id).where(VisitPhoto.visit_id == visit_id)
    return list((await session.exec(query)).all())


async def photo(
    *, session: AsyncSession, principal: Principal, visit_id: UUID, photo_id: UUID
) -> VisitPhoto:
    await find(session, principal, visit_id)
    found = await session.get(VisitPhoto, photo_id)
    if found is None or found.visit_id != visit_id:
        raise Refusal(404, "Foto tidak ditemukan.")
    await session.commit()
    return found
