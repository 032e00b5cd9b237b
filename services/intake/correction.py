"""Correcting a case at the desk: the person's identity, after Dukcapil or the district
found it wrong, or the other details (contact, complaint, address, household).

Corrections go through the same rules as at registration; the timeline names the fields
that changed, never their values. A corrected identity raises `case.updated` and verval
checks the case again; a corrected contact raises `case.contact_changed` for notify.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain import REGISTRARS, CaseStatus
from services.intake.models import Case, DetailsCorrection, IdentityCorrection, TimelineEntry
from services.intake.service import case_in_scope, refuse_duplicate, require_role
from shared.accounts import audit
from shared.auth import Principal
from shared.contracts import (
    AreaCodes,
    CaseContactChanged,
    CaseUpdated,
    Category,
    Event,
    Person,
    Sex,
)
from shared.errors import Refusal
from shared.outbox import add_event

FIELD_LABELS = {
    "nik": "NIK",
    "kk": "nomor KK",
    "name": "nama",
    "birth_date": "tanggal lahir",
    "birth_place": "tempat lahir",
    "sex": "jenis kelamin",
}


def _changes(case: Case, data: IdentityCorrection) -> list[str]:
    now = {
        "nik": data.nik,
        "kk": data.kk,
        "name": data.name,
        "birth_date": data.birth_date,
        "birth_place": data.birth_place,
        "sex": data.sex.value,
    }
    return [field for field, value in now.items() if getattr(case, field) != value]


async def _correctable(
    session: AsyncSession, principal: Principal, case_id: UUID, doing: str
) -> Case:
    """The case, if this operator may correct it and it is not closed."""
    require_role(principal, REGISTRARS, doing)
    case, _ = await case_in_scope(session=session, principal=principal, case_id=case_id)
    if case.status == CaseStatus.CLOSED.value:
        raise Refusal(409, "Kasus sudah selesai; data tidak dapat dikoreksi lagi.")
    return case


def _changed(fields: list[str]) -> list[str]:
    if not fields:
        raise Refusal(422, "Tidak ada data yang berubah.")
    return fields


async def correct_identity(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: UUID,
    data: IdentityCorrection,
    trace_id: str,
) -> Case:
    case = await _correctable(session, principal, case_id, "mengoreksi data identitas")
    changed = _changed(_changes(case, data))
    if "nik" in changed:
        await refuse_duplicate(session=session, nik=data.nik, category=Category(case.category))
    case.nik, case.kk, case.name = data.nik, data.kk, data.name
    case.birth_date, case.birth_place, case.sex = data.birth_date, data.birth_place, data.sex.value
    case.status, case.updated_at = CaseStatus.REGISTERED.value, datetime.now(UTC)
    labels = ", ".join(FIELD_LABELS[f] for f in changed)
    event = CaseUpdated(
        case_id=case.id,
        area=AreaCodes.of_desa(case.desa_code),
        trace_id=trace_id,
        actor=principal.actor(),
        registration_number=case.registration_number,
        person=Person(
            nik=case.nik,
            kk=case.kk,
            name=case.name,
            birth_date=case.birth_date,
            birth_place=case.birth_place,
            sex=Sex(case.sex),
            phone=case.phone,
        ),
        category=Category(case.category),
        urgent=case.urgent,
        consent_to_share=case.may_share(),
        changed=changed,
    )
    step = ("Data identitas dikoreksi", "koreksi_identitas")
    await _record(session, principal, case, step, f"{labels}: {data.note}", labels, event)
    return case


DETAIL_LABELS = {
    "phone": "nomor HP",
    "email": "e-mail",
    "contact": "cara dikabari",
    "description": "keluhan",
    "address": "alamat",
    "rt": "RT",
    "rw": "RW",
    "dusun": "dusun",
    "household_size": "jumlah anggota keluarga",
    "working_members": "anggota yang bekerja",
    "monthly_income": "penghasilan",
    "floor_type": "lantai rumah",
    "electricity": "listrik",
    "citizen_account": "cerita warga",
}
CONTACT_FIELDS = ("phone", "email", "contact")


async def correct_details(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: UUID,
    data: DetailsCorrection,
    trace_id: str,
) -> Case:
    """Replace the case's details; a changed contact is told to notify."""
    case = await _correctable(session, principal, case_id, "mengoreksi data kasus")
    given = data.model_dump(exclude={"note"})
    changed = _changed([field for field, value in given.items() if getattr(case, field) != value])
    for field in changed:
        setattr(case, field, given[field])
    case.updated_at = datetime.now(UTC)
    event: Event | None = None
    if any(field in CONTACT_FIELDS for field in changed):
        event = CaseContactChanged(
            case_id=case.id,
            area=AreaCodes.of_desa(case.desa_code),
            trace_id=trace_id,
            actor=principal.actor(),
            phone=case.phone,
            email=case.email,
            contact=data.contact or "none",
        )
    labels = ", ".join(DETAIL_LABELS[f] for f in changed)
    step = ("Data kasus dikoreksi", "koreksi_data")
    await _record(session, principal, case, step, f"{labels}: {data.note}", labels, event)
    return case


async def _record(
    session: AsyncSession,
    principal: Principal,
    case: Case,
    step: tuple[str, str],
    note: str,
    labels: str,
    event: Event | None,
) -> None:
    """Save a correction with its timeline step (`step`: its words and its audit action),
    its audit entry naming the fields, and its event if it raises one."""
    words, action = step
    session.add(case)
    session.add(
        TimelineEntry(
            case_id=case.id,
            at=case.updated_at,
            service="intake",
            step=words,
            note=note,
            actor=principal.username,
            event_id=event.event_id if event else None,
        )
    )
    audit(session=session, principal=principal, action=action, purpose=labels, case_id=case.id)
    if event is not None:
        add_event(session, event)
    await session.commit()
