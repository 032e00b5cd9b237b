"""Correcting a person's identity at the desk, after Dukcapil or the district found it wrong.

The corrected identity goes through the same rules as at registration; the timeline and
the `case.updated` event name the fields that changed, never their values; verval checks
the case again.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain import REGISTRARS, CaseStatus
from services.intake.models import Case, IdentityCorrection, TimelineEntry
from services.intake.service import case_in_scope, refuse_duplicate, require_role
from shared.accounts import audit
from shared.auth import Principal
from shared.contracts import AreaCodes, CaseUpdated, Category, Person, Sex
from shared.errors import Refusal
from shared.outbox import add_event

FIELD_LABELS = {
    "nik": "NIK",
    "kk": "nomor KK",
    "name": "nama",
    "birth_date": "tanggal lahir",
    "sex": "jenis kelamin",
}


def _changes(case: Case, data: IdentityCorrection) -> list[str]:
    now = {
        "nik": data.nik,
        "kk": data.kk,
        "name": data.name,
        "birth_date": data.birth_date,
        "sex": data.sex.value,
    }
    return [field for field, value in now.items() if getattr(case, field) != value]


async def correct_identity(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: UUID,
    data: IdentityCorrection,
    trace_id: str,
) -> Case:
    require_role(principal, REGISTRARS, "mengoreksi data identitas")
    case, _ = await case_in_scope(session=session, principal=principal, case_id=case_id)
    if case.status == CaseStatus.CLOSED.value:
        raise Refusal(409, "Kasus sudah selesai; data tidak dapat dikoreksi lagi.")
    changed = _changes(case, data)
    if not changed:
        raise Refusal(422, "Tidak ada data yang berubah.")
    if "nik" in changed:
        await refuse_duplicate(session=session, nik=data.nik, category=Category(case.category))
    case.nik, case.kk, case.name = data.nik, data.kk, data.name
    case.birth_date, case.sex = data.birth_date, data.sex.value
    case.status, case.updated_at = CaseStatus.REGISTERED.value, datetime.now(UTC)
    labels = ", ".join(FIELD_LABELS[f] for f in changed)
    event = CaseUpdated(
        case_id=case.id,
        area=AreaCodes(
            kabupaten=case.kabupaten_code, kecamatan=case.kecamatan_code, desa=case.desa_code
        ),
        trace_id=trace_id,
        actor=principal.actor(),
        registration_number=case.registration_number,
        person=Person(
            nik=case.nik,
            kk=case.kk,
            name=case.name,
            birth_date=case.birth_date,
            sex=Sex(case.sex),
            phone=case.phone,
        ),
        category=Category(case.category),
        urgent=case.urgent,
        consent_to_share=case.may_share(),
        changed=changed,
    )
    session.add(case)
    session.add(
        TimelineEntry(
            case_id=case.id,
            at=event.occurred_at,
            service="intake",
            step="Data identitas dikoreksi",
            note=f"{labels}: {data.note}",
            actor=principal.username,
            event_id=event.event_id,
        )
    )
    audit(
        session=session,
        principal=principal,
        action="koreksi_identitas",
        purpose=labels,
        case_id=case.id,
    )
    add_event(session, event)
    await session.commit()
    return case
