"""Intake's use cases: register a case, show it, and record what other services did."""

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import bindparam, delete, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.domain import (
    CASE_READERS,
    DOCUMENT_LABELS,
    REGISTRARS,
    REOPEN_DAYS,
    CaseStatus,
    advance,
    registration_number,
    reopen_deadline,
    required_documents,
    retry_after,
)
from services.intake.models import (
    Case,
    CaseCreate,
    RatingIn,
    RegistrationCounter,
    ReopenIn,
    StatusLookup,
    TimelineEntry,
)
from services.intake.workflow import Stage
from shared.accounts import audit
from shared.areas import AreaRegistry, DesaPath, UnknownAreaError
from shared.auth import Principal, Role
from shared.consumer import NotYet
from shared.contracts import (
    Actor,
    AreaCodes,
    CaseClosed,
    CaseRegistered,
    CaseReopened,
    Category,
    Event,
    Person,
    PrecheckReply,
)
from shared.db import as_utc, dialect_of, get_by_key, in_area, insert_on_conflict
from shared.errors import Refusal, field_refusal
from shared.logging import current_trace_id
from shared.outbox import add_event
from shared.staging import stage

OPEN_STATUSES = [s.value for s in CaseStatus if s is not CaseStatus.CLOSED]


def require_role(principal: Principal, allowed: frozenset[Role], doing: str) -> None:
    if principal.role not in allowed:
        raise Refusal(403, f"Peran Anda ({principal.role.value}) tidak dapat {doing}.")


def require_area(principal: Principal, area_code: str) -> None:
    if not principal.covers(area_code):
        raise Refusal(
            403, f"Wilayah {area_code} di luar wilayah kerja Anda ({principal.area_code})."
        )


# Asks verval what applies to a person (services.intake.precheck.ask_verval); None when
# verval does not answer in time.
Precheck = Callable[[str, Category], Awaitable[PrecheckReply | None]]


async def submit_registration(
    *,
    session: AsyncSession,
    data: CaseCreate,
    areas: AreaRegistry,
    principal: Principal,
    trace_id: str,
    idempotency_key: str | None,
    precheck: Precheck,
) -> tuple[Case, bool]:
    """Register a case for an operator; returns (case, created). A repeated key returns the
    case the first submit created, so a retry over a flaky connection makes one case.

    Verval is asked before the registration's transaction, and its answer saved with the
    case: the session holds no connection while verval answers, and the case is written
    once (bench/RESULTS.md)."""
    require_role(principal, REGISTRARS, "mendaftarkan kasus")
    require_area(principal, data.desa_code)
    reply = await precheck(data.nik, data.category)
    if idempotency_key and (
        earlier := await find_by_idempotency_key(session=session, key=idempotency_key)
    ):
        return earlier, False
    try:
        case = await register_case(
            session=session,
            data=data,
            areas=areas,
            principal=principal,
            trace_id=trace_id,
            idempotency_key=idempotency_key,
            precheck=reply,
        )
    except IntegrityError:
        # The same key submitted twice at once: the other request saved the case.
        await session.rollback()
        if idempotency_key and (
            earlier := await find_by_idempotency_key(session=session, key=idempotency_key)
        ):
            return earlier, False
        raise
    return case, True


async def read_case(
    *, session: AsyncSession, principal: Principal, case_id: UUID, purpose: str
) -> tuple[Case, list[TimelineEntry]]:
    """A case of the operator's area with its timeline; the read is audited."""
    require_role(principal, CASE_READERS, "melihat kasus")
    case, timeline = await case_in_scope(session=session, principal=principal, case_id=case_id)
    audit(
        session=session, principal=principal, action="baca_kasus", purpose=purpose, case_id=case.id
    )
    await session.commit()
    return case, timeline


async def case_in_scope(
    *, session: AsyncSession, principal: Principal, case_id: UUID
) -> tuple[Case, list[TimelineEntry]]:
    found = await get_case(session=session, case_id=case_id)
    # A case outside one's area answers like a missing one: its number reveals nothing.
    if found is None or not principal.covers(found[0].desa_code):
        raise Refusal(404, "Kasus tidak ditemukan")
    return found


# A citizen checking their case needs a few tries at most; an enumeration needs thousands.
STATUS_LOOKUPS_PER_MINUTE = 10
STATUS_WINDOW = timedelta(minutes=1)


async def status_attempt(*, session: AsyncSession, client: str, now: datetime) -> float:
    """Count a look-up by `client` on the public status page, in the database so that every
    intake instance counts together; 0 if allowed, else the seconds to wait."""
    key = hashlib.sha256(client.encode()).hexdigest()[:32]
    await session.exec(delete(StatusLookup).where(col(StatusLookup.at) <= now - STATUS_WINDOW))
    earlier = (await session.exec(select(StatusLookup.at).where(StatusLookup.client == key))).all()
    wait = retry_after(
        [as_utc(at) for at in earlier], now, limit=STATUS_LOOKUPS_PER_MINUTE, window=STATUS_WINDOW
    )
    if wait == 0:
        session.add(StatusLookup(client=key, at=now))
    await session.commit()
    return wait


async def public_status(
    *, session: AsyncSession, registration_number: str, birth_date: date
) -> Case:
    """The case a citizen asks about, if number and birth date both match; else 404."""
    query = select(Case).where(Case.registration_number == registration_number.strip())
    case = (await session.exec(query)).first()
    if case is None or case.birth_date != birth_date:
        raise Refusal(404, "Nomor registrasi atau tanggal lahir tidak cocok.")
    return case


async def find_by_idempotency_key(*, session: AsyncSession, key: str) -> Case | None:
    """The case an earlier submit with this key created, if any."""
    return (await session.exec(_CASE_BY_IDEMPOTENCY_KEY, params={"key": key})).first()


async def register_case(
    *,
    session: AsyncSession,
    data: CaseCreate,
    areas: AreaRegistry,
    principal: Principal,
    trace_id: str,
    idempotency_key: str | None,
    precheck: PrecheckReply | None = None,
) -> Case:
    """Save a new case, its first timeline step and its `case.registered` event together."""
    try:
        path = areas.desa(data.desa_code)
    except UnknownAreaError as exc:
        raise field_refusal("desa_code", str(exc)) from None
    await refuse_duplicate(session=session, nik=data.nik, category=data.category)
    today = datetime.now(UTC).date()
    case = Case(
        registration_number=registration_number(
            path.desa, today, await _next_sequence(session, path.desa, today)
        ),
        kecamatan_code=path.kecamatan,
        kabupaten_code=path.kabupaten,
        idempotency_key=idempotency_key,
        # Consent is recorded with who took it and when: the referral may rely on it.
        consent_recorded_by=principal.username if data.consent_to_share else None,
        consent_recorded_at=datetime.now(UTC) if data.consent_to_share else None,
        precheck_json=precheck.model_dump_json() if precheck else None,
        **data.model_dump(),
    )
    event = CaseRegistered(
        case_id=case.id,
        area=AreaCodes.of(path),
        trace_id=trace_id,
        actor=principal.actor(),
        registration_number=case.registration_number,
        person=Person(
            kk=data.kk,
            nik=data.nik,
            name=data.name,
            birth_date=data.birth_date,
            birth_place=data.birth_place,
            sex=data.sex,
            phone=data.phone,
            email=data.email,
        ),
        category=data.category,
        description=data.description,
        urgent=data.urgent,
        consent_to_share=data.consent_to_share,
        contact=case.contact,
        # Nothing is uploaded yet: the citizen hears what the SOP asks them to bring.
        missing_documents=[
            DOCUMENT_LABELS[d] for d in required_documents(data.category, has_no_id=data.has_no_id)
        ],
    )
    # Written once and not read again in this transaction: staged (shared/staging.py).
    stage(
        session,
        case,
        _timeline_entry(
            case.id,
            event,
            "intake",
            "Kasus didaftarkan",
            f"Nomor registrasi {case.registration_number}",
        ),
    )
    add_event(session, event)
    audit(
        session=session,
        principal=principal,
        action="daftar_kasus",
        purpose="pendaftaran pengaduan",
        case_id=case.id,
    )
    await session.commit()
    return case


async def list_cases(
    *,
    session: AsyncSession,
    area_code: str,
    status: CaseStatus | None,
    category: Category | None,
    q: str | None,
    limit: int,
    incomplete: bool | None = None,
    stage: Stage | None = None,
    registered_from: date | None = None,
    registered_to: date | None = None,
) -> list[Case]:
    """Cases in an area (a desa, kecamatan or kabupaten), newest first, filtered."""
    query = select(Case).where(in_area(col(Case.desa_code), area_code))
    if status is not None:
        query = query.where(Case.status == status.value)
    if category is not None:
        query = query.where(Case.category == category.value)
    if stage is not None:
        query = query.where(Case.stage == stage.value)
    if registered_from is not None:
        query = query.where(
            col(Case.created_at) >= datetime.combine(registered_from, time.min, UTC)
        )
    if registered_to is not None:
        query = query.where(col(Case.created_at) <= datetime.combine(registered_to, time.max, UTC))
    if incomplete is not None:
        query = query.where(col(Case.documents_complete).is_(not incomplete))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            or_(col(Case.name).ilike(like), col(Case.registration_number).ilike(like))
        )
    return list(
        (await session.exec(query.order_by(col(Case.created_at).desc()).limit(limit))).all()
    )


# The registration's reads, built once with their values as parameters: on SQLite building
# a select took longer than running it (bench/RESULTS.md).
_OPEN_CASE_OF_PERSON = select(Case).where(
    Case.nik == bindparam("nik"),
    Case.category == bindparam("category"),
    col(Case.status).in_(OPEN_STATUSES),
    Case.stage != Stage.RESOLVED_LOCALLY.value,
)
_CASE_BY_IDEMPOTENCY_KEY = select(Case).where(Case.idempotency_key == bindparam("key"))


async def refuse_duplicate(*, session: AsyncSession, nik: str, category: Category) -> None:
    params = {"nik": nik, "category": category.value}
    existing = (await session.exec(_OPEN_CASE_OF_PERSON, params=params)).first()
    if existing is not None:
        raise Refusal(
            409,
            f"Warga ini sudah punya kasus {existing.registration_number} dengan kategori yang sama "
            "yang masih berjalan; lanjutkan kasus itu.",
            existing_case_id=str(existing.id),
            existing_registration_number=existing.registration_number,
            url=f"/api/cases/{existing.id}",
        )


async def _next_sequence(session: AsyncSession, desa_code: str, today: date) -> int:
    """The desa's next sequence number this month. One upsert creates the month's counter or
    bumps it, under the row's lock, so concurrent registrations never share a number."""
    counter = {"desa_code": desa_code, "period": f"{today:%Y%m}", "last": 1}
    upsert = _sequence_upsert(dialect_of(session))
    return int((await session.exec(upsert, params=counter)).scalar_one())


@functools.cache
def _sequence_upsert(dialect: str) -> ReturningInsert[tuple[int]]:
    """Built once per kind of database, like the registration's reads above; the counter's
    values are the parameters."""
    counter = RegistrationCounter.__table__  # type: ignore[attr-defined]
    return (
        insert_on_conflict(dialect, counter)
        .on_conflict_do_update(
            index_elements=["desa_code", "period"], set_={"last": counter.c.last + 1}
        )
        .returning(counter.c.last)
    )


async def get_case(
    *, session: AsyncSession, case_id: UUID
) -> tuple[Case, list[TimelineEntry]] | None:
    """A case with its timeline in the order things happened.

    One statement, so one snapshot: on PostgreSQL two reads could each see a different
    moment, a step beside the status from before it or the reverse (found in CI)."""
    query = (
        select(Case, TimelineEntry)
        .outerjoin(TimelineEntry, col(TimelineEntry.case_id) == col(Case.id))
        .where(Case.id == case_id)
        .order_by(col(TimelineEntry.at))
    )
    rows = (await session.exec(query)).all()
    if not rows:
        return None
    return rows[0][0], [entry for _, entry in rows if entry is not None]


async def record_step(
    *,
    session: AsyncSession,
    event: Event,
    service: str,
    step: str,
    note: str,
    status: CaseStatus | None,
) -> None:
    """Add another service's step to a case's timeline and move its status forward.

    A status change locks the case's row first: two events of one case are consumed at once
    (verval's and referral's, say), and on PostgreSQL the later commit would otherwise write
    a status computed from what it read before the earlier one committed.

    Without autoflush: the steps of a batch's events are then written together at commit
    rather than one flush per event (nothing pending changes the case row read here).
    A step that leaves the status alone reads only whether the case is there: half the
    cost of loading all of it (bench/RESULTS.md)."""
    case = None
    with session.no_autoflush:
        if status is None:
            found = await session.exec(_CASE_EXISTS, params={"case_id": event.case_id})
            known = found.first() is not None
        else:
            case = await get_by_key(session, Case, event.case_id, lock=True)
            known = case is not None
    if not known:
        raise NotYet(f"case {event.case_id} not (yet) known to intake")
    stage(session, _timeline_entry(event.case_id, event, service, step, note))
    if case is not None and status is not None:
        case.status = advance(CaseStatus(case.status), status).value
        case.updated_at = datetime.now(UTC)
        session.add(case)


_CASE_EXISTS = select(Case.id).where(Case.id == bindparam("case_id"))


async def close_case(*, session: AsyncSession, event: CaseClosed) -> None:
    """The district closed the case: on the timeline, and the citizen's 30 days begin."""
    await record_step(
        session=session,
        event=event,
        service="referral",
        step="Kasus selesai",
        note=event.summary,
        status=CaseStatus.CLOSED,
    )
    case = await session.get(Case, event.case_id)
    if case is not None and case.status == CaseStatus.CLOSED.value:
        case.closed_at = event.occurred_at
        session.add(case)


async def rate_case(*, session: AsyncSession, data: RatingIn) -> Case:
    """The citizen's rating of a closed case, once."""
    case = await public_status(
        session=session, registration_number=data.registration_number, birth_date=data.birth_date
    )
    if case.status != CaseStatus.CLOSED.value:
        raise Refusal(409, "Penilaian dapat diberikan setelah kasus selesai.")
    if case.rating is not None:
        raise Refusal(409, "Kasus ini sudah Anda nilai. Terima kasih.")
    case.rating, case.rating_comment = data.rating, data.comment.strip() or None
    note = f"Nilai {data.rating} dari 5" + (
        f": {case.rating_comment}" if case.rating_comment else ""
    )
    session.add(_citizen_step(case, "Dinilai oleh warga", note))
    session.add(case)
    return case


async def reopen_case(*, session: AsyncSession, data: ReopenIn, today: date) -> Case:
    """Within 30 days of closing, the citizen sends the case back to the village's back
    office with a reason; its history stays."""
    case = await public_status(
        session=session, registration_number=data.registration_number, birth_date=data.birth_date
    )
    if case.status != CaseStatus.CLOSED.value or case.closed_at is None:
        raise Refusal(409, "Hanya kasus yang sudah selesai yang dapat dibuka kembali.")
    if today > reopen_deadline(case.closed_at):
        raise Refusal(
            409,
            f"Batas membuka kembali ({REOPEN_DAYS} hari setelah selesai) sudah lewat. "
            "Silakan daftarkan pengaduan baru di kantor desa.",
        )
    case.status, case.stage = CaseStatus.VERIFIED.value, Stage.VILLAGE.value
    case.closed_at, case.updated_at = None, datetime.now(UTC)
    reason = " ".join(data.reason.split())
    path = DesaPath.of(case.desa_code)
    event = CaseReopened(
        case_id=case.id,
        area=AreaCodes.of(path),
        trace_id=current_trace_id(),
        actor=Actor(user_id="warga", role="citizen", area_code=case.desa_code),
        registration_number=case.registration_number,
        reason=reason,
    )
    add_event(session, event)
    session.add(_citizen_step(case, "Dibuka kembali oleh warga", reason))
    session.add(case)
    return case


def _citizen_step(case: Case, step: str, note: str) -> TimelineEntry:
    return TimelineEntry(
        case_id=case.id, at=datetime.now(UTC), service="intake", step=step, note=note, actor="warga"
    )


async def return_to_village(*, session: AsyncSession, event: Event, note: str) -> None:
    """The district sent the case back (data to correct, documents missing): it is the
    village back office's again, with the reason on its timeline, to correct and re-send."""
    case = await session.get(Case, event.case_id, with_for_update=True)
    if case is None:
        raise NotYet(f"case {event.case_id} not (yet) known to intake")
    session.add(_timeline_entry(case.id, event, "referral", "Dikembalikan ke desa", note))
    case.stage = Stage.VILLAGE.value
    case.status = CaseStatus.NEEDS_CORRECTION.value
    case.updated_at = datetime.now(UTC)
    session.add(case)


def _timeline_entry(
    case_id: UUID, event: Event, service: str, step: str, note: str
) -> TimelineEntry:
    return TimelineEntry(
        case_id=case_id,
        at=event.occurred_at,
        service=service,
        step=step,
        note=note,
        actor=event.actor.user_id,
        event_id=event.event_id,
    )
