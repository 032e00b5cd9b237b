"""DTKS proposals' use cases: open one for a verified case, take the village's and the
district's steps, roll over what missed its window (a whole batch's steps: batches.py).

Each change writes the proposal, its history step, the audit entry and (for a proposal
about a case) `proposal.updated` in one transaction. A refused step is audited too, in a
transaction of its own, so the refusal is on record even though nothing changed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import registry, visit_service
from services.verval.domain import ProgramFacts
from services.verval.models import MinutesDocument, Proposal, ProposalStep, Verification
from services.verval.proposals import (
    GONE_UP,
    KIND_LABELS,
    RATIFIERS,
    STATUS_LABELS,
    UNFINISHED,
    VILLAGE_STAFF,
    Command,
    Facts,
    Kind,
    Pending,
    Status,
    batch_month,
    batch_name,
    check,
    household_key,
    manual_refusal,
    proposal_for,
    roll_over,
    warnings,
    window_key,
)
from shared.accounts import audit
from shared.auth import Principal, service_actor
from shared.contracts import Actor, AreaCodes, CaseRegistered, CaseUpdated, ProposalUpdated
from shared.db import in_area
from shared.errors import Refusal
from shared.outbox import add_event

PAGE_SIZE = 50
MINUTES_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
MINUTES_MAX_BYTES = 5 * 1024 * 1024


def arrears_blocker(program: str, arrears: int) -> str:
    if program != "PBI-JK" or arrears <= 0:
        return ""
    return (
        f"Tunggakan iuran BPJS mandiri Rp {arrears:,}".replace(",", ".")
        + " harus dilunasi dulu: usulan PBI-JK akan ditolak selama masih ada tunggakan."
    )


async def open_for_case(
    *,
    session: AsyncSession,
    registered: CaseRegistered | CaseUpdated,
    facts: ProgramFacts,
    civil: registry.CivilRecord | None,
    today: date,
) -> Proposal | None:
    """Open the proposal a consistent case needs (once per case), for the village to draft."""
    needed = proposal_for(registered.category, in_dtks=facts.in_dtks, pbi_active=facts.pbi_active)
    person = registered.person
    kk = person.kk or (civil.kk if civil else None)
    if needed is None or kk is None:
        return None
    existing = select(Proposal.id).where(Proposal.case_id == registered.case_id)
    if (await session.exec(existing)).first() is not None:
        return None
    kind, program = needed
    key = window_key(program, facts.in_dtks)
    proposal = Proposal(
        case_id=registered.case_id,
        registration_number=registered.registration_number,
        desa_code=registered.area.desa,
        kind=kind.value,
        program=program,
        window=key,
        batch_month=batch_month(key, today),
        status=Status.OPEN.value,
        nik=person.nik,
        kk=kk,
        household_key=household_key(kk),
        name=civil.name if civil else person.name,
        birth_date=person.birth_date,
        address=civil.address if civil else "",
        in_dtks=bool(facts.in_dtks),
        id_dtks=facts.id_dtks,
        reason=registered.description[:500] if isinstance(registered, CaseRegistered) else "",
        blocker=arrears_blocker(program, facts.arrears),
    )
    session.add(proposal)
    actor = service_actor("verval", registered.area.kabupaten)
    if kind is Kind.ADD and program == "DTKS":
        visit_service.open_for_proposal(session, proposal, today, actor, registered.trace_id)
    record_step(session, proposal, actor, "Dibuka dari hasil verifikasi kasus", registered.trace_id)
    return proposal


async def propose(
    *,
    session: AsyncSession,
    principal: Principal,
    nik: str,
    kind: Kind,
    program: str,
    reason: str,
    today: date,
    trace_id: str,
) -> Proposal:
    """A proposal the village drafts by hand for a resident in the civil registry: a life
    event (moved away, better off: removal with its reason; a correction), or a person who
    came without a complaint case. It starts as the officer's draft."""
    if principal.role not in VILLAGE_STAFF:
        raise Refusal(403, "Usulan disusun oleh petugas Puskesos desa.")
    if not reason.strip():
        raise Refusal(422, "Tulis alasan usulan (untuk penghapusan: mengapa tidak layak lagi).")
    found = await registry.look_up(session, nik)
    if found.civil is None or not found.dtks_loaded:
        raise Refusal(422, "NIK tidak ada di data Dukcapil (atau data DTKS belum diimpor).")
    if not principal.covers(found.civil.desa_code):
        raise Refusal(403, "Orang ini tidak berdomisili di desa Anda menurut Dukcapil.")
    in_dtks, id_dtks = found.dtks is not None, found.dtks.id_dtks if found.dtks else None
    refused = manual_refusal(kind, program, in_dtks, id_dtks)
    if refused:
        raise Refusal(409, refused)
    proposal = for_resident(
        found.civil, (kind, program), (in_dtks, id_dtks), today,
        status=Status.DRAFTED, reason=reason.strip()[:500], drafted_by=principal.username,
    )  # fmt: skip
    if principal.household_key == proposal.household_key:
        refusal = Refusal(403, "Konflik kepentingan: usulan untuk anggota keluarga (KK) Anda "
                          "sendiri disusun oleh petugas lain.")  # fmt: skip
        audit_refusal(session, principal, (proposal.id, None), refusal)
        await session.commit()
        raise refusal
    session.add(proposal)
    audit(session=session, principal=principal, action="proposal.draft",
          purpose=f"usulan {proposal.id}: {reason.strip()[:200]}")  # fmt: skip
    record_step(session, proposal, principal.actor(), f"Disusun desa: {proposal.reason}", trace_id)
    await session.commit()
    return proposal


def for_resident(
    civil: registry.CivilRecord,
    what: tuple[Kind, str],
    dtks: tuple[bool, str | None],
    today: date,
    *,
    status: Status,
    reason: str,
    drafted_by: str | None = None,
    life_event: str | None = None,
) -> Proposal:
    """A proposal about a resident, as the civil registry knows them (not a complaint case):
    `what` is its kind and program, `dtks` whether they are in DTKS and their ID-DTKS."""
    (kind, program), (in_dtks, id_dtks) = what, dtks
    key = window_key(program, in_dtks)
    return Proposal(
        desa_code=civil.desa_code, kind=kind.value, program=program, window=key,
        batch_month=batch_month(key, today), nik=civil.nik, kk=civil.kk,
        household_key=household_key(civil.kk), name=civil.name, birth_date=civil.birth_date,
        address=civil.address, in_dtks=in_dtks, id_dtks=id_dtks, status=status.value,
        reason=reason, drafted_by=drafted_by, life_event=life_event,
    )  # fmt: skip


def record_step(
    session: AsyncSession, proposal: Proposal, actor: Actor, note: str, trace_id: str
) -> None:
    """The history step and, for a proposal about a case, the event the village hears."""
    proposal.updated_at = datetime.now(UTC)
    session.add(
        ProposalStep(
            proposal_id=proposal.id,
            username=actor.user_id,
            role=actor.role,
            status=proposal.status,
            note=note,
        )
    )
    if proposal.case_id is None:
        return
    add_event(
        session,
        ProposalUpdated(
            case_id=proposal.case_id,
            area=AreaCodes.of_desa(proposal.desa_code),
            trace_id=trace_id,
            actor=actor,
            proposal_id=proposal.id,
            registration_number=proposal.registration_number,
            program=proposal.program,
            kind_label=KIND_LABELS[Kind(proposal.kind)],
            status=proposal.status,
            status_label=STATUS_LABELS[Status(proposal.status)],
            batch=batch_name(proposal.window, proposal.batch_month),
            note=note,
        ),
    )


def audit_refusal(
    session: AsyncSession, principal: Principal, ids: tuple[UUID, UUID | None], refusal: Refusal
) -> None:
    proposal_id, case_id = ids
    audit(
        session=session,
        principal=principal,
        action="proposal.refused",
        purpose=f"usulan {proposal_id}: {refusal.message}",
        case_id=case_id,
    )


async def _refuse(
    session: AsyncSession, principal: Principal, proposal: Proposal, refusal: Refusal
) -> Refusal:
    """Undo the request's changes and put the refusal on the audit record, committed now
    (the request fails after)."""
    ids = (proposal.id, proposal.case_id)  # read before the rollback expires them
    await session.rollback()
    audit_refusal(session, principal, ids, refusal)
    await session.commit()
    return refusal


async def take_step(
    session: AsyncSession,
    principal: Principal,
    proposal: Proposal,
    command: Command,
    trace_id: str,
    note: str = "",
) -> None:
    """Take one step on a proposal, or raise the refusal before changing anything."""
    facts = Facts(
        Status(proposal.status), proposal.desa_code, proposal.household_key, proposal.drafted_by
    )
    after = check(command, facts, principal)
    if command is Command.APPROVE:
        await _visit_done(session, proposal)
    if command is Command.VERIFY:
        await _refresh_blocker(session, proposal)
    proposal.status = after.value
    _stamp(proposal, command, principal)
    audit(
        session=session,
        principal=principal,
        action=f"proposal.{command.value}",
        purpose=f"usulan {proposal.id}" + (f": {note}" if note else ""),
        case_id=proposal.case_id,
    )
    record_step(session, proposal, principal.actor(), note or STATUS_LABELS[after], trace_id)


async def _visit_done(session: AsyncSession, proposal: Proposal) -> None:
    """The musyawarah desa decides on a new registration once the house has been seen."""
    visit = await visit_service.of_proposal(session, proposal.id)
    if visit is not None and visit.verdict is None:
        raise Refusal(
            409,
            f"Kunjungan rumah untuk {proposal.name} belum dicatat (batas "
            f"{visit.due_on:%d-%m-%Y}): musyawarah desa memutuskan setelah hasilnya ada.",
        )


async def _refresh_blocker(session: AsyncSession, proposal: Proposal) -> None:
    """The district verifies against today's snapshot: arrears paid since then unblock it."""
    found = await registry.look_up(session, proposal.nik)
    proposal.blocker = arrears_blocker(proposal.program, sum(m.arrears for m in found.memberships))
    if proposal.blocker:
        raise Refusal(409, proposal.blocker)


def _stamp(proposal: Proposal, command: Command, principal: Principal) -> None:
    who = principal.username
    if command is Command.DRAFT:
        proposal.drafted_by = who
    elif command is Command.APPROVE:
        proposal.approved_by = who
    elif command is Command.VERIFY:
        proposal.verified_by = who
    elif command is Command.RATIFY:
        proposal.ratified_by, proposal.ratified_as = who, RATIFIERS[principal.role]
    elif command is Command.SEND:
        proposal.sent_by, proposal.sent_at = who, datetime.now(UTC)
    elif command is Command.RETURN:
        proposal.drafted_by = proposal.approved_by = proposal.verified_by = None


async def find(session: AsyncSession, principal: Principal, proposal_id: UUID) -> Proposal:
    """A proposal in the user's area (read audited), or 404."""
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or not principal.covers(proposal.desa_code):
        raise Refusal(404, "Usulan tidak ditemukan.")
    audit(
        session=session,
        principal=principal,
        action="proposal.read",
        purpose=f"usulan {proposal.id}",
        case_id=proposal.case_id,
    )
    return proposal


async def act(
    *,
    session: AsyncSession,
    principal: Principal,
    proposal_id: UUID,
    command: Command,
    note: str,
    trace_id: str,
) -> Proposal:
    """Draft, verify or return one proposal (approval, ratification and sending have their
    own functions: they take a meeting's minutes or a whole batch)."""
    if command not in (Command.DRAFT, Command.VERIFY, Command.RETURN):
        raise Refusal(422, "Langkah ini dilakukan lewat musyawarah desa atau per batch.")
    note = note.strip()
    if command is Command.RETURN and not note:
        raise Refusal(422, "Tulis alasan usulan dikembalikan ke desa.")
    proposal = await find(session, principal, proposal_id)
    try:
        await take_step(session, principal, proposal, command, trace_id, note)
    except Refusal as refusal:
        raise await _refuse(session, principal, proposal, refusal) from None
    if command is Command.RETURN:
        proposal.note = f"Dikembalikan kabupaten: {note}"
    await session.commit()
    return proposal


@dataclass(frozen=True)
class Minutes:
    """The musyawarah desa's record: when it met and its signed minutes."""

    held_on: date
    filename: str
    content_type: str
    content: bytes


async def approve_in_musdes(
    *,
    session: AsyncSession,
    principal: Principal,
    proposal_ids: Sequence[UUID],
    minutes: Minutes,
    today: date,
    trace_id: str,
) -> list[Proposal]:
    """Record the musyawarah desa's approval of its proposals: all of them, or none."""
    if not proposal_ids:
        raise Refusal(422, "Pilih usulan yang disetujui musyawarah desa.")
    if minutes.held_on > today:
        raise Refusal(422, "Tanggal musyawarah desa tidak boleh di masa depan.")
    if minutes.content_type not in MINUTES_TYPES or not minutes.content:
        raise Refusal(422, "Unggah berita acara musyawarah desa (PDF, JPG atau PNG).")
    if len(minutes.content) > MINUTES_MAX_BYTES:
        raise Refusal(413, "Berita acara terlalu besar (paling besar 5 MB).")
    proposals = [await find(session, principal, pid) for pid in dict.fromkeys(proposal_ids)]
    document = MinutesDocument(
        desa_code=proposals[0].desa_code,
        filename=minutes.filename[:200],
        content_type=minutes.content_type,
        content=minutes.content,
        uploaded_by=principal.username,
    )
    session.add(document)
    note = f"Disetujui musyawarah desa {minutes.held_on:%d-%m-%Y}"
    for proposal in proposals:
        try:
            await take_step(session, principal, proposal, Command.APPROVE, trace_id, note)
        except Refusal as refusal:  # one refused: the meeting's record is not taken at all
            raise await _refuse(session, principal, proposal, refusal) from None
        proposal.musdes_date, proposal.minutes_id = minutes.held_on, document.id
    await session.commit()
    return proposals


async def minutes_document(
    *, session: AsyncSession, principal: Principal, proposal_id: UUID
) -> MinutesDocument:
    proposal = await find(session, principal, proposal_id)
    document = (
        await session.get(MinutesDocument, proposal.minutes_id) if proposal.minutes_id else None
    )
    if document is None:
        raise Refusal(404, "Usulan ini belum punya berita acara musyawarah desa.")
    await session.commit()
    return document


async def roll_over_missed(*, session: AsyncSession, today: date) -> int:
    """Move every proposal whose window closed before it was sent to next month's."""
    query = select(Proposal).where(col(Proposal.status).not_in([s.value for s in GONE_UP]))
    moved = 0
    for proposal in (await session.exec(query)).all():
        rolled = roll_over(Status(proposal.status), proposal.window, proposal.batch_month, today)
        if rolled is None:
            continue
        proposal.batch_month, proposal.note = rolled.month, rolled.reason
        actor = service_actor("verval", proposal.desa_code.rsplit(".", 2)[0])
        record_step(session, proposal, actor, rolled.reason, trace_id=f"rollover-{today}")
        moved += 1
    await session.commit()
    return moved


async def unfinished_warnings(
    *, session: AsyncSession, principal: Principal, today: date
) -> dict[str, list[str]]:
    query = select(Proposal.desa_code, Proposal.window, col(Proposal.batch_month), Proposal.status)
    query = query.where(col(Proposal.status).in_([s.value for s in UNFINISHED]))
    pending = [
        Pending(desa, key, month, Status(status))
        for desa, key, month, status in (await session.exec(query)).all()
        if principal.covers(desa)
    ]
    return warnings(pending, today)


async def listing(
    *,
    session: AsyncSession,
    principal: Principal,
    status: Status | None,
    month: date | None,
    page: int = 1,
) -> list[Proposal]:
    """One page of the proposals of the user's area, by batch month and desa: a district's
    month (life events included) runs to thousands."""
    query = select(Proposal).where(in_area(col(Proposal.desa_code), principal.area_code))
    if status is not None:
        query = query.where(Proposal.status == status.value)
    if month is not None:
        query = query.where(Proposal.batch_month == month)
    order = (col(Proposal.batch_month), col(Proposal.desa_code), col(Proposal.created_at))
    query = query.order_by(*order, col(Proposal.id))
    return list((await session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))).all())


async def history(session: AsyncSession, proposal_id: UUID) -> list[ProposalStep]:
    query = select(ProposalStep).where(ProposalStep.proposal_id == proposal_id)
    return list((await session.exec(query.order_by(col(ProposalStep.id)))).all())


async def recommendation(
    *, session: AsyncSession, principal: Principal, proposal_id: UUID
) -> Proposal:
    """The proposal a PBI-JK reactivation letter is written from; it must carry the ID-DTKS."""
    proposal = await find(session, principal, proposal_id)
    if proposal.kind != Kind.REACTIVATION.value:
        raise Refusal(409, "Surat rekomendasi hanya untuk usulan reaktivasi PBI-JK.")
    if not proposal.id_dtks:
        raise Refusal(
            409,
            "Surat rekomendasi reaktivasi wajib mencantumkan ID-DTKS, dan orang ini belum "
            "punya ID-DTKS: usulkan ke DTKS dulu.",
        )
    await session.commit()
    return proposal


async def mismatches(
    *, session: AsyncSession, principal: Principal
) -> dict[str, list[Verification]]:
    """Each case's latest verdict that says the data differs from Dukcapil, by desa."""
    flagged = select(Verification.case_id).where(col(Verification.identity_consistent).is_(False))
    query = select(Verification).where(col(Verification.case_id).in_(flagged))
    latest: dict[UUID, Verification] = {}
    for row in (await session.exec(query.order_by(col(Verification.created_at)))).all():
        if principal.covers(row.desa_code):
            latest[row.case_id] = row
    by_desa: dict[str, list[Verification]] = {}
    for row in latest.values():
        if not row.identity_consistent:
            by_desa.setdefault(row.desa_code, []).append(row)
    return dict(sorted(by_desa.items()))
