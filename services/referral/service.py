"""Referral's use cases: refer a case at the district, move a referral, close the case.

Every change writes the referral, its timeline step, the audit entry and the event in one
transaction (the caller commits); the outbox relay publishes the event afterwards.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral import kis_daerah, routing
from services.referral.domain import HEALTH_COVER, INSIDE_VILLAGE, TRIAGE, Destination, Facts, route
from services.referral.lifecycle import (
    CARD_LABELS,
    ENDED,
    REJECTION_LABELS,
    RETURN_TO_VILLAGE,
    STATUS_LABELS,
    CardStage,
    Command,
    Order,
    RejectionReason,
    Status,
    authorise,
    decide,
    next_card,
)
from services.referral.models import CaseFile, Referral, ReferralStep
from services.referral.sla import TIMED, due_for
from shared.accounts import audit
from shared.areas import WIB
from shared.auth import Principal, Role, service_actor
from shared.contracts import (
    Actor,
    AreaCodes,
    CaseClosed,
    CaseEscalated,
    CaseVerified,
    Category,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
)
from shared.db import as_utc, get_by_key, pending
from shared.errors import Refusal
from shared.logging import new_trace_id
from shared.outbox import add_event

READERS = frozenset({Role.SECRETARIAT, Role.SECRETARIAT_HEAD, Role.LIAISON})


def _area(item: CaseFile | Referral) -> AreaCodes:
    return AreaCodes(kabupaten=item.kabupaten, kecamatan=item.kecamatan, desa=item.desa_code)


async def _case_file(session: AsyncSession, event: CaseVerified | CaseEscalated) -> CaseFile:
    # A file added earlier in this session (the same case twice in a batch) is taken from
    # the session; the stored ones are read without a flush, so a batch's files go in at
    # commit together instead of one flush per event (a fifth of referral's time,
    # bench/RESULTS.md).
    found = next((f for f in pending(session, CaseFile) if f.case_id == event.case_id), None)
    if found is None:
        with session.no_autoflush:
            found = await get_by_key(session, CaseFile, event.case_id)
    if found is None:
        found = CaseFile(
            case_id=event.case_id,
            kabupaten=event.area.kabupaten,
            kecamatan=event.area.kecamatan,
            desa_code=event.area.desa,
            category=event.category.value,
        )
    found.registration_number = event.registration_number or found.registration_number
    found.urgent = event.urgent
    found.consent_to_share = event.consent_to_share
    session.add(found)
    return found


async def note_verified(*, session: AsyncSession, verified: CaseVerified, now: datetime) -> None:
    """Keep verval's facts; an urgent case is referred at once (the fast track)."""
    file = await _case_file(session, verified)
    file.verified = True
    file.identity_consistent = verified.identity_consistent
    file.in_dtks = verified.in_dtks
    file.desil = verified.desil
    file.programs = ",".join(verified.active_programs)
    await refer_if_ready(session=session, file=file, trace_id=verified.trace_id, now=now)


async def note_escalated(*, session: AsyncSession, escalated: CaseEscalated, now: datetime) -> None:
    """A case forwarded to the district is referred once verval has spoken."""
    if escalated.level != "kabupaten":
        return  # still in the sub-district's hands
    file = await _case_file(session, escalated)
    file.at_district = True
    await refer_if_ready(session=session, file=file, trace_id=escalated.trace_id, now=now)


async def refer_if_ready(
    *, session: AsyncSession, file: CaseFile, trace_id: str, now: datetime
) -> list[Referral]:
    """Create the referrals the routing rules choose, unless the case has open ones."""
    if not (file.verified and (file.at_district or file.urgent)):
        return []
    if any(Status(r.status) not in ENDED for r in await referrals_of_case(session, file.case_id)):
        return []
    file.closed_at = None
    actor = service_actor("referral", file.kabupaten)
    facts = Facts(
        category=Category(file.category),
        identity_consistent=file.identity_consistent,
        in_dtks=file.in_dtks,
        urgent=file.urgent,
        desil=file.desil,
        programs=frozenset(p for p in file.programs.split(",") if p),
    )
    targets = route(facts, await routing.rules(session), await routing.destinations(session))
    created = []
    for target in targets:
        referral = Referral(
            case_id=file.case_id,
            registration_number=file.registration_number,
            kabupaten=file.kabupaten,
            kecamatan=file.kecamatan,
            desa_code=file.desa_code,
            category=file.category,
            urgent=file.urgent,
            destination=target.code,
            created_at=now,
            created_month=now.astimezone(WIB).strftime("%Y-%m"),
            updated_at=now,
            due_at=_due(Status.CREATED, now, target, file.urgent),
        )
        session.add(referral)
        _record_step(
            session, referral, "create", Status.CREATED, actor, "Dibuat oleh aturan rujukan"
        )
        if target.code == HEALTH_COVER:
            await kis_daerah.request_place(session=session, referral=referral, now=now)
        add_event(
            session,
            ReferralCreated(
                case_id=file.case_id,
                area=_area(file),
                trace_id=trace_id,
                actor=actor,
                referral_id=referral.id,
                destination=target.code,
                destination_name=target.name,
            ),
        )
        created.append(referral)
    return created


def _due(status: Status, started: datetime, target: Destination, urgent: bool) -> datetime | None:
    return due_for(
        status,
        started,
        answer_days=target.answer_days,
        service_days=target.service_days,
        urgent=urgent,
    )


def _record_step(
    session: AsyncSession,
    referral: Referral,
    command: str,
    previous: Status,
    actor: Actor,
    note: str,
) -> None:
    session.add(
        ReferralStep(
            referral_id=referral.id,
            at=referral.updated_at,
            command=command,
            previous_status=previous.value,
            status=referral.status,
            note=note,
            username=actor.user_id,
            role=actor.role,
        )
    )


async def visible_referral(
    *, session: AsyncSession, principal: Principal, referral_id: UUID, purpose: str
) -> Referral:
    """A referral this user may see, with the read audited; 404 for anyone else's."""
    require_reader(principal)
    referral = await session.get(Referral, referral_id)
    if referral is None or not _sees(principal, referral):
        raise Refusal(404, "Rujukan tidak ditemukan.")
    audit(
        session=session,
        principal=principal,
        action="referral.read",
        purpose=purpose,
        case_id=referral.case_id,
    )
    return referral


def require_reader(principal: Principal) -> None:
    if principal.role not in READERS:
        raise Refusal(403, "Peran Anda tidak membuka rujukan.")


def _sees(principal: Principal, referral: Referral) -> bool:
    if not principal.covers(referral.desa_code):
        return False
    return principal.role is not Role.LIAISON or referral.destination == principal.agency


async def act(
    *,
    session: AsyncSession,
    principal: Principal,
    referral_id: UUID,
    order: Order,
    trace_id: str,
    now: datetime,
) -> Referral:
    """Carry out one command on a referral, or refuse it (403, 404, 409, 422)."""
    referral = await visible_referral(
        session=session, principal=principal, referral_id=referral_id, purpose=order.command.value
    )
    authorise(principal, order, destination=referral.destination)
    if order.command is Command.SEND and referral.destination == TRIAGE.code:
        raise Refusal(409, "Tentukan dulu instansi tujuan rujukan dari antrean triase.")
    file = await session.get(CaseFile, referral.case_id)
    consent = referral.destination in INSIDE_VILLAGE or (file is not None and file.consent_to_share)
    previous = Status(referral.status)
    status = decide(previous, order, consent=consent)
    target = await routing.destination(session, referral.destination)
    _apply(referral, order, status, target, now)
    actor = principal.actor()
    note = order.note or ("Pengecualian persetujuan warga" if order.consent_override else "")
    _record_step(session, referral, order.command.value, previous, actor, note)
    audit(
        session=session,
        principal=principal,
        action=f"referral.{order.command.value}",
        purpose=note or order.command.value,
        case_id=referral.case_id,
    )
    event = _updated_event(referral, target, order.command, note, previous, actor, trace_id)
    add_event(session, event)
    await _follow_district_cover(session, referral, status, now)
    if status in ENDED:
        await close_case_if_done(session=session, case_id=referral.case_id, trace_id=trace_id)
    return referral


async def _follow_district_cover(
    session: AsyncSession, referral: Referral, status: Status, now: datetime
) -> None:
    """KIS Daerah covers a person only while their national PBI-JK referral is open."""
    if referral.destination != HEALTH_COVER:
        return
    if status in ENDED:
        await kis_daerah.release_place(session=session, referral=referral, now=now)
    elif status is Status.CREATED:  # reopened
        await kis_daerah.request_place(session=session, referral=referral, now=now)


def _apply(
    referral: Referral, order: Order, status: Status, target: Destination, now: datetime
) -> None:
    referral.status = status.value
    referral.updated_at = now
    referral.due_at = _due(status, now, target, referral.urgent)
    referral.overdue_raised_at = None
    referral.ended_at = now if status in ENDED else None
    if order.command is Command.REOPEN:
        referral.rejection_reason = referral.not_served_reason = referral.card_stage = None
        referral.served = referral.days_to_complete = None
    if order.rejection is not None:
        referral.rejection_reason = order.rejection.value
    if order.command is Command.COMPLETE:
        referral.days_to_complete = (now - as_utc(referral.created_at)).total_seconds() / 86400
        referral.served = order.served
        referral.not_served_reason = None if order.served else order.not_served
    if order.command is Command.FAIL:
        referral.served = False


def _updated_event(
    referral: Referral,
    target: Destination,
    command: str,
    note: str,
    previous: Status,
    actor: Actor,
    trace_id: str,
) -> ReferralUpdated:
    status = Status(referral.status)
    rejection = (
        RejectionReason(referral.rejection_reason)
        if status is Status.REJECTED and referral.rejection_reason
        else None
    )
    return ReferralUpdated(
        case_id=referral.case_id,
        area=_area(referral),
        trace_id=trace_id,
        actor=actor,
        referral_id=referral.id,
        destination=referral.destination,
        destination_name=target.name,
        command=command,
        previous_status=previous.value,
        status=status.value,
        status_label=STATUS_LABELS[status],
        note=note,
        rejection_reason=rejection.value if rejection else None,
        rejection_label=REJECTION_LABELS[rejection] if rejection else None,
        returns_to_village=rejection in RETURN_TO_VILLAGE,
        served=referral.served,
        not_served_reason=referral.not_served_reason,
        card_stage=referral.card_stage,
    )


async def record_card(
    *,
    session: AsyncSession,
    principal: Principal,
    referral_id: UUID,
    stage: CardStage,
    note: str,
    trace_id: str,
    now: datetime,
) -> Referral:
    """The KIS card's progress; the citizen is told when it is ready to collect in person."""
    referral = await visible_referral(
        session=session, principal=principal, referral_id=referral_id, purpose="kartu KIS"
    )
    # Reporting the card is the agency's, like completing the service.
    authorise(principal, Order(command=Command.COMPLETE), destination=referral.destination)
    if referral.destination != HEALTH_COVER:
        raise Refusal(409, "Status kartu hanya untuk rujukan jaminan kesehatan (PBI-JK/KIS).")
    status = Status(referral.status)
    referral.card_stage = next_card(status, _card(referral), stage).value
    referral.updated_at = now
    actor = principal.actor()
    note = note or CARD_LABELS[stage]
    _record_step(session, referral, "card", status, actor, note)
    audit(
        session=session,
        principal=principal,
        action="referral.card",
        purpose=stage.value,
        case_id=referral.case_id,
    )
    target = await routing.destination(session, referral.destination)
    add_event(session, _updated_event(referral, target, "card", note, status, actor, trace_id))
    return referral


def _card(referral: Referral) -> CardStage | None:
    return CardStage(referral.card_stage) if referral.card_stage else None


async def assign(
    *,
    session: AsyncSession,
    principal: Principal,
    referral_id: UUID,
    to: str,
    note: str,
    now: datetime,
) -> Referral:
    """Triage: the secretariat chooses where a case no rule placed goes."""
    referral = await visible_referral(
        session=session, principal=principal, referral_id=referral_id, purpose="triase"
    )
    if principal.role not in {Role.SECRETARIAT, Role.SECRETARIAT_HEAD}:
        raise Refusal(403, "Hanya sekretariat yang menentukan tujuan rujukan.")
    if referral.destination != TRIAGE.code or referral.status != Status.CREATED:
        raise Refusal(409, "Hanya rujukan di antrean triase yang belum dikirim dapat dialihkan.")
    target = await routing.destination(session, to)
    if not target.active or target.code == TRIAGE.code:
        raise Refusal(422, f"Instansi tujuan '{to}' tidak dikenal atau tidak aktif.")
    referral.destination = target.code
    referral.updated_at = now
    referral.due_at = _due(Status.CREATED, now, target, referral.urgent)
    _record_step(
        session, referral, "assign", Status.CREATED, principal.actor(), note or target.name
    )
    audit(
        session=session,
        principal=principal,
        action="referral.assign",
        purpose=target.code,
        case_id=referral.case_id,
    )
    return referral


async def close_case_if_done(*, session: AsyncSession, case_id: UUID, trace_id: str) -> bool:
    """Publish `case.closed` once every referral of the case has ended for good.

    A rejection the village can fix (data mismatch, missing documents) sends the case back
    instead: it is closed only when it finally ends.
    """
    referrals = await referrals_of_case(session, case_id)
    file = await session.get(CaseFile, case_id)
    if file is None or file.closed_at is not None:
        return False
    if any(Status(r.status) not in ENDED for r in referrals):
        return False
    if any(r.rejection_reason in RETURN_TO_VILLAGE for r in referrals):
        return False
    served = any(r.served for r in referrals)
    names = {code: d.name for code, d in (await routing.destinations(session)).items()}
    summary = "; ".join(_outcome(r, names.get(r.destination, r.destination)) for r in referrals)
    file.closed_at = max(as_utc(r.ended_at or r.updated_at) for r in referrals)
    session.add(file)
    add_event(
        session,
        CaseClosed(
            case_id=case_id,
            area=_area(file),
            trace_id=trace_id,
            actor=service_actor("referral", file.kabupaten),
            decision="served" if served else "not_served",
            summary=summary,
        ),
    )
    return True


def _outcome(referral: Referral, name: str) -> str:
    if referral.rejection_reason:
        return f"{name}: ditolak ({REJECTION_LABELS[RejectionReason(referral.rejection_reason)]})"
    if referral.served:
        return f"{name}: dilayani"
    return f"{name}: {STATUS_LABELS[Status(referral.status)].lower()}"


async def raise_overdue(*, session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Raise `referral.overdue` once for every step past its target. Idempotent and durable:
    it reads the state, not a timer, so a restart or a downtime skips nothing; the
    conditional update makes two instances raise each escalation once between them."""
    query = (
        select(Referral)
        .where(col(Referral.due_at) < now, col(Referral.overdue_raised_at).is_(None))
        .where(col(Referral.status).in_([s.value for s in TIMED]))
        .limit(limit)
    )
    raised = 0
    for referral in (await session.exec(query)).all():
        claimed = await session.exec(
            update(Referral)
            .where(col(Referral.id) == referral.id, col(Referral.overdue_raised_at).is_(None))
            .values(overdue_raised_at=now)
        )
        if claimed.rowcount != 1:
            continue
        add_event(
            session,
            ReferralOverdue(
                case_id=referral.case_id,
                area=_area(referral),
                trace_id=new_trace_id(),  # the scheduler starts a chain of its own
                actor=service_actor("referral", referral.kabupaten),
                referral_id=referral.id,
                destination=referral.destination,
                status=referral.status,
                due_at=as_utc(referral.due_at or now),
                urgent=referral.urgent,
            ),
        )
        raised += 1
    return raised


async def referrals_of_case(session: AsyncSession, case_id: UUID) -> list[Referral]:
    query = select(Referral).where(Referral.case_id == case_id).order_by(col(Referral.created_at))
    return list((await session.exec(query)).all())


async def steps_of(session: AsyncSession, referral_id: UUID) -> list[ReferralStep]:
    query = (
        select(ReferralStep)
        .where(ReferralStep.referral_id == referral_id)
        .order_by(col(ReferralStep.at), col(ReferralStep.id))
    )
    return list((await session.exec(query)).all())
