"""Intake's HTTP API: sign in, register a case, list and show cases, read the audit trail.

Every route but sign-in needs a signed-in user (a `Bearer` token or the session cookie);
an operator sees and changes only cases in their own area, and every read of a case's
personal data and every change is written to the audit log.
"""

from datetime import UTC, date, datetime
from functools import partial
from math import ceil
from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response, UploadFile
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from services.intake import correction, documents, handling, precheck, service
from services.intake.domain import (
    AUDIT_READERS,
    CASE_READERS,
    MAX_DOCUMENT_BYTES,
    REGISTRARS,
    STATUS_LABELS,
    CaseStatus,
    DocumentType,
)
from services.intake.models import (
    Case,
    CaseAction,
    CaseCreate,
    CaseCreated,
    CasePublic,
    CaseSummary,
    DetailsCorrection,
    DocumentChecklist,
    IdentityCorrection,
    PublicStatus,
    RatingIn,
    ReopenIn,
    VillageRule,
    VillageRuleIn,
    VillageRulePublic,
)
from services.intake.workflow import Stage
from shared import accounts
from shared.accounts import AuditEntryPublic, LoginIn, LoginOut
from shared.areas import WIB, UnknownAreaError
from shared.auth import Principal
from shared.contracts import Category, PrecheckReply
from shared.errors import Refusal
from shared.identity import parse_nik
from shared.logging import current_trace_id
from shared.runtime import RuntimeDep, SessionDep

SESSION_COOKIE = "slrt_session"
router = APIRouter(prefix="/api", tags=["intake"])


CurrentUser = Annotated[Principal, Depends(accounts.api_principal(SESSION_COOKIE))]


async def check_status_rate(request: Request, session: SessionDep) -> None:
    """Refuse a client that looks up statuses faster than a citizen would (429)."""
    client = request.client.host if request.client else "unknown"
    wait = await service.status_attempt(session=session, client=client, now=datetime.now(UTC))
    if wait > 0:
        raise Refusal(
            429,
            f"Terlalu banyak percobaan. Coba lagi dalam {ceil(wait)} detik.",
            retry_after=ceil(wait),
        )


class UplinkOut(SQLModel):
    village: str | None
    district_reachable: bool | None
    waiting: int


@router.get("/uplink", response_model=UplinkOut)
async def uplink_status(request: Request, runtime: RuntimeDep) -> UplinkOut:
    """At a village edge: can the district be reached, how many events has it not got yet.
    At the district there is no link: village is null."""
    link = request.app.state.link
    if runtime.edge is None or link is None:
        return UplinkOut(village=None, district_reachable=None, waiting=0)
    return UplinkOut(
        village=runtime.edge.desa.desa, district_reachable=link.reachable, waiting=link.waiting
    )


@router.get("/status", response_model=PublicStatus, dependencies=[Depends(check_status_rate)])
async def public_status(
    session: SessionDep,
    registration_number: Annotated[str, Query(max_length=40)],
    birth_date: date,
) -> PublicStatus:
    """For the citizen: status and next step of a case, given its number and the birth date.
    No sign-in; no personal data; rate-limited per client."""
    case = await service.public_status(
        session=session, registration_number=registration_number, birth_date=birth_date
    )
    return PublicStatus.of(case, today=datetime.now(WIB).date())


@router.post(
    "/status/rating", response_model=PublicStatus, dependencies=[Depends(check_status_rate)]
)
async def rate_case(data: RatingIn, session: SessionDep) -> PublicStatus:
    """For the citizen, once their case is closed: a rating from 1 to 5 and a comment."""
    case = await service.rate_case(session=session, data=data)
    await session.commit()
    return PublicStatus.of(case, today=datetime.now(WIB).date())


@router.post(
    "/status/reopen", response_model=PublicStatus, dependencies=[Depends(check_status_rate)]
)
async def reopen_case(data: ReopenIn, session: SessionDep) -> PublicStatus:
    """For the citizen, within 30 days of closing: send the case back to the village with a
    reason. It keeps its history."""
    case = await service.reopen_case(session=session, data=data, today=datetime.now(WIB).date())
    await session.commit()
    return PublicStatus.of(case, today=datetime.now(WIB).date())


@router.post("/login", response_model=LoginOut)
async def login(data: LoginIn, session: SessionDep, response: Response) -> LoginOut:
    """Sign in; the token works as `Authorization: Bearer` and is also set as a cookie."""
    return await accounts.api_login(
        session=session, data=data, response=response, cookie_name=SESSION_COOKIE
    )


@router.post("/logout", status_code=204)
async def logout(
    request: Request, session: SessionDep, response: Response, principal: CurrentUser
) -> None:
    """End the session that signed this request in (bearer token or cookie)."""
    token = accounts.request_token(request, SESSION_COOKIE)
    if token:
        await accounts.sign_out(session=session, token=token)
    response.delete_cookie(SESSION_COOKIE)


def _created(case: Case) -> CaseCreated:
    return CaseCreated(
        id=case.id,
        registration_number=case.registration_number,
        status=case.status,
        status_label=STATUS_LABELS[CaseStatus(case.status)],
        url=f"/api/cases/{case.id}",
        precheck=case.precheck(),
    )


@router.post("/cases", status_code=201, response_model=CaseCreated)
async def register_case(
    data: CaseCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CaseCreated:
    """Register a citizen's case; a repeated `Idempotency-Key` returns the first case (200)."""
    case, created = await service.submit_registration(
        session=session,
        data=data,
        areas=runtime.areas,
        principal=principal,
        trace_id=current_trace_id(),
        idempotency_key=idempotency_key,
        precheck=partial(precheck.ask_verval, runtime),
    )
    if created:
        runtime.relay.wake()
    else:
        response.status_code = 200
    return _created(case)


class PrecheckIn(SQLModel):
    nik: str = Field(description="NIK, 16 angka")
    category: Category

    @field_validator("nik")
    @classmethod
    def nik_is_possible(cls, value: str) -> str:
        value = value.replace(" ", "")
        parse_nik(value)
        return value


@router.post("/precheck", response_model=PrecheckReply)
async def ask_precheck(
    data: PrecheckIn, runtime: RuntimeDep, principal: CurrentUser
) -> PrecheckReply:
    """Before registering: is the person in DTKS, with which programs, is PBI-JK active, which
    monthly window applies. 503 when verval does not answer in time (registration still works)."""
    service.require_role(principal, REGISTRARS, "memeriksa data di meja layanan")
    reply = await precheck.ask_verval(runtime, data.nik, data.category)
    if reply is None:
        raise Refusal(
            503,
            "Pemeriksaan awal belum dapat dilakukan. Kasus tetap dapat didaftarkan; "
            "data diperiksa otomatis sesudahnya.",
        )
    return reply


@router.get("/cases", response_model=list[CaseSummary])
async def list_cases(
    session: SessionDep,
    principal: CurrentUser,
    status: CaseStatus | None = None,
    category: Category | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="nama atau nomor registrasi")
    ] = None,
    incomplete: Annotated[bool | None, Query(description="dokumen belum lengkap")] = None,
    stage: Annotated[Stage | None, Query(description="antrean: siapa yang harus bertindak")] = None,
    registered_from: Annotated[
        date | None, Query(description="didaftarkan sejak (TTTT-BB-HH)")
    ] = None,
    registered_to: Annotated[date | None, Query(description="didaftarkan sampai")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseSummary]:
    """The cases of the caller's area, newest first, without NIK or phone."""
    service.require_role(principal, CASE_READERS, "melihat kasus")
    cases = await service.list_cases(
        session=session,
        area_code=principal.area_code,
        status=status,
        category=category,
        q=q,
        limit=limit,
        incomplete=incomplete,
        stage=stage,
        registered_from=registered_from,
        registered_to=registered_to,
    )
    return [CaseSummary.of(case) for case in cases]


@router.get("/cases/{case_id}", response_model=CasePublic)
async def get_case(
    case_id: UUID,
    session: SessionDep,
    principal: CurrentUser,
    x_purpose: Annotated[str | None, Header(max_length=200)] = None,
) -> CasePublic:
    """A case's status and the timeline of what every service did with it (audited)."""
    found = await service.read_case(
        session=session, principal=principal, case_id=case_id, purpose=x_purpose or "melihat kasus"
    )
    return CasePublic.of_case(*found)


@router.post("/cases/{case_id}/identity", response_model=CasePublic)
async def correct_identity(
    case_id: UUID,
    data: IdentityCorrection,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
) -> CasePublic:
    """Correct the person's NIK, KK, name, birth date or sex (all given again, checked as
    at registration, with a note); verval checks the case again."""
    await correction.correct_identity(
        session=session,
        principal=principal,
        case_id=case_id,
        data=data,
        trace_id=current_trace_id(),
    )
    return await _changed_case(session, runtime, case_id)


@router.post("/cases/{case_id}/details", response_model=CasePublic)
async def correct_details(
    case_id: UUID,
    data: DetailsCorrection,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
) -> CasePublic:
    """Correct how to reach the citizen, the complaint, the address or the household (all
    given again, checked as at registration, with a note); a new contact reaches notify."""
    await correction.correct_details(
        session=session,
        principal=principal,
        case_id=case_id,
        data=data,
        trace_id=current_trace_id(),
    )
    return await _changed_case(session, runtime, case_id)


async def _changed_case(session: SessionDep, runtime: RuntimeDep, case_id: UUID) -> CasePublic:
    """After a change: send its events now, and show the case as it is."""
    runtime.relay.wake()
    found = await service.get_case(session=session, case_id=case_id)
    assert found is not None
    return CasePublic.of_case(*found)


@router.post("/cases/{case_id}/actions", response_model=CasePublic)
async def act_on_case(
    case_id: UUID,
    command: CaseAction,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
) -> CasePublic:
    """The back office resolves or proposes, the coordinator (and, where the desa requires
    it, the village head) approves or sends back, the supervisor forwards or returns, or
    allows a referral without the citizen's consent. 409 when the case is not at that step;
    403 for a role that does not take it."""
    await handling.act_on_case(
        session=session,
        principal=principal,
        case_id=case_id,
        command=command,
        trace_id=current_trace_id(),
    )
    return await _changed_case(session, runtime, case_id)


@router.get("/villages/{desa_code}/rule", response_model=VillageRulePublic)
async def village_rule(desa_code: str, session: SessionDep, principal: CurrentUser) -> VillageRule:
    """Whether the desa's head signs what leaves the village, after the coordinator."""
    return await handling.village_rule(session=session, desa_code=desa_code)


@router.put("/villages/{desa_code}/rule", response_model=VillageRulePublic)
async def set_village_rule(
    desa_code: str,
    data: VillageRuleIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
) -> VillageRule:
    """Set by the desa's coordinator or the district admin; audited."""
    try:
        runtime.areas.desa(desa_code)
    except UnknownAreaError as exc:
        raise Refusal(404, str(exc)) from None
    return await handling.set_village_rule(
        session=session, principal=principal, desa_code=desa_code, head_signs=data.head_signs
    )


@router.post("/cases/{case_id}/documents", status_code=201, response_model=DocumentChecklist)
async def upload_document(
    case_id: UUID,
    doc_type: Annotated[DocumentType, Form()],
    file: UploadFile,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentUser,
) -> DocumentChecklist:
    """Add a document (JPG, PNG or PDF, at most 5 MB); returns what is still missing."""
    content = await file.read(MAX_DOCUMENT_BYTES + 1)  # one byte more tells "too big"
    return await documents.add_document(
        session=session,
        storage=document_storage(runtime),
        principal=principal,
        case_id=case_id,
        doc_type=doc_type,
        content=content,
    )


@router.get("/cases/{case_id}/documents", response_model=DocumentChecklist)
async def document_checklist(
    case_id: UUID, session: SessionDep, principal: CurrentUser
) -> DocumentChecklist:
    """The case's documents and the ones the SOP still asks for."""
    service.require_role(principal, CASE_READERS, "melihat dokumen")
    case, _ = await service.case_in_scope(session=session, principal=principal, case_id=case_id)
    return await documents.checklist_of(session=session, case=case)


def document_storage(runtime: RuntimeDep) -> Path:
    return runtime.settings.var_dir / "intake" / "documents"


@router.get("/cases/{case_id}/audit", response_model=list[AuditEntryPublic])
async def get_audit_trail(
    case_id: UUID, session: SessionDep, principal: CurrentUser
) -> list[AuditEntryPublic]:
    """Who read or changed this case, when and why."""
    service.require_role(principal, AUDIT_READERS, "melihat jejak audit")
    await service.case_in_scope(session=session, principal=principal, case_id=case_id)
    entries = await accounts.audit_trail(session=session, case_id=case_id)
    return [AuditEntryPublic.model_validate(e, from_attributes=True) for e in entries]
