"""Verval's HTTP API: the verdict on a case, and the DTKS proposals with their batches.

Every proposal route needs a signed-in user; each sees the proposals of their own area.
Reads and changes of a proposal are written to the audit log.
"""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from sqlmodel import Field, SQLModel

from services.verval import batches, service, visit_service
from services.verval import proposal_service as proposals
from services.verval.models import Proposal, VerificationPublic, Visit
from services.verval.proposals import WINDOWS, Command, Kind, Status
from services.verval.visits import MAX_PHOTOS, PHOTO_MAX_BYTES, Verdict, is_overdue
from shared import accounts
from shared.accounts import LoginIn, LoginOut
from shared.areas import WIB
from shared.auth import Principal
from shared.errors import Refusal
from shared.logging import current_trace_id
from shared.runtime import SessionDep

SESSION_COOKIE = "slrt_verval_session"
router = APIRouter(prefix="/api", tags=["verval"])
CurrentUser = Annotated[Principal, Depends(accounts.api_principal(SESSION_COOKIE))]
WindowKey = Annotated[str, Path(pattern="^(" + "|".join(WINDOWS) + ")$")]
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="TTTT-BB")]


def today() -> date:
    return datetime.now(WIB).date()


@router.post("/login", response_model=LoginOut)
async def login(data: LoginIn, session: SessionDep, response: Response) -> LoginOut:
    """Sign in; the token works as `Authorization: Bearer` and is also set as a cookie."""
    return await accounts.api_login(
        session=session, data=data, response=response, cookie_name=SESSION_COOKIE
    )


@router.get("/verifications/{case_id}", response_model=VerificationPublic)
async def get_verification(
    case_id: UUID, session: SessionDep, principal: CurrentUser
) -> VerificationPublic:
    """The latest verdict on a case of the user's area (the read is audited)."""
    found = await service.latest_verification(session=session, case_id=case_id)
    if found is None or not principal.covers(found.desa_code):
        raise Refusal(404, "Belum ada hasil verifikasi untuk kasus ini")
    purpose = f"hasil verifikasi {found.registration_number}"
    accounts.audit(
        session=session, principal=principal, action="verification.read", purpose=purpose,
        case_id=case_id,
    )  # fmt: skip
    await session.commit()
    return VerificationPublic(
        case_id=found.case_id,
        identity_consistent=found.identity_consistent,
        findings=found.findings,
        created_at=found.created_at,
    )


class ProposalPublic(SQLModel):
    id: UUID
    case_id: UUID | None
    registration_number: str
    desa_code: str
    kind: str
    program: str
    window: str
    batch_month: date
    status: str
    name: str
    in_dtks: bool
    id_dtks: str | None
    blocker: str
    note: str
    drafted_by: str | None
    approved_by: str | None
    musdes_date: date | None
    verified_by: str | None
    ratified_by: str | None
    ratified_as: str | None


class StepPublic(SQLModel):
    at: datetime
    username: str
    role: str
    status: str
    note: str


class ProposalDetail(ProposalPublic):
    history: list[StepPublic]


class ProposalIn(SQLModel):
    nik: str = Field(regex=r"^\d{16}$", description="NIK, 16 angka")
    kind: Kind = Field(description="tambah, reaktivasi, perbaikan atau hapus")
    program: str = Field(description="DTKS, PBI-JK, PKH atau BPNT")
    reason: str = Field(min_length=1, max_length=500, description="alasan usulan")


class ActionIn(SQLModel):
    command: Command = Field(description="draft, verify or return")
    note: str = Field(default="", max_length=1000)


class BatchOut(SQLModel):
    done: list[UUID]
    skipped: dict[str, str] = Field(description="proposal id → why it was left out")


def _public(proposal: Proposal) -> ProposalPublic:
    return ProposalPublic.model_validate(proposal, from_attributes=True)


@router.get("/proposals", response_model=list[ProposalPublic])
async def list_proposals(
    session: SessionDep,
    principal: CurrentUser,
    status: Status | None = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> list[ProposalPublic]:
    """Proposals in your area, by batch month, 50 a page; filter by status and month
    (TTTT-BB)."""
    found = await proposals.listing(
        session=session,
        principal=principal,
        status=status,
        month=batches.parse_month(month) if month else None,
        page=page,
    )
    return [_public(p) for p in found]


@router.post("/proposals", response_model=ProposalPublic, status_code=201)
async def propose(data: ProposalIn, session: SessionDep, principal: CurrentUser) -> ProposalPublic:
    """A proposal the village drafts by hand for a resident (a life event, a correction, a
    removal with its reason); it starts as this officer's draft."""
    proposal = await proposals.propose(
        session=session,
        principal=principal,
        nik=data.nik,
        kind=data.kind,
        program=data.program,
        reason=data.reason,
        today=today(),
        trace_id=current_trace_id(),
    )
    return _public(proposal)


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail)
async def get_proposal(
    proposal_id: UUID, session: SessionDep, principal: CurrentUser
) -> ProposalDetail:
    """One proposal with its history (the read is audited)."""
    proposal = await proposals.find(session, principal, proposal_id)
    steps = await proposals.history(session, proposal.id)
    await session.commit()
    history = [StepPublic.model_validate(s, from_attributes=True) for s in steps]
    return ProposalDetail(**_public(proposal).model_dump(), history=history)


@router.post("/proposals/{proposal_id}/actions", response_model=ProposalPublic)
async def act_on_proposal(
    proposal_id: UUID, data: ActionIn, session: SessionDep, principal: CurrentUser
) -> ProposalPublic:
    """The village drafts; the district DTKS admin verifies or returns (with the reason)."""
    proposal = await proposals.act(
        session=session,
        principal=principal,
        proposal_id=proposal_id,
        command=data.command,
        note=data.note,
        trace_id=current_trace_id(),
    )
    return _public(proposal)


@router.post("/musdes", response_model=list[ProposalPublic])
async def record_musdes(
    session: SessionDep,
    principal: CurrentUser,
    proposal_ids: Annotated[list[UUID], Form()],
    held_on: Annotated[date, Form()],
    minutes: Annotated[UploadFile, File(description="berita acara: PDF, JPG atau PNG")],
) -> list[ProposalPublic]:
    """The musyawarah desa approved these drafts: its date and signed minutes (berita
    acara). Recorded by the coordinator or the village head, never by a proposal's drafter."""
    record = proposals.Minutes(
        held_on=held_on,
        filename=minutes.filename or "berita-acara",
        content_type=minutes.content_type or "",
        content=await minutes.read(proposals.MINUTES_MAX_BYTES + 1),
    )
    approved = await proposals.approve_in_musdes(
        session=session,
        principal=principal,
        proposal_ids=proposal_ids,
        minutes=record,
        today=today(),
        trace_id=current_trace_id(),
    )
    return [_public(p) for p in approved]


@router.get("/proposals/{proposal_id}/minutes")
async def get_minutes(proposal_id: UUID, session: SessionDep, principal: CurrentUser) -> Response:
    """The musyawarah desa's minutes this proposal was approved with."""
    document = await proposals.minutes_document(
        session=session, principal=principal, proposal_id=proposal_id
    )
    disposition = f'inline; filename="{document.filename}"'
    return Response(
        document.content,
        media_type=document.content_type,
        headers={"Content-Disposition": disposition},
    )


def _batch_out(result: batches.BatchResult) -> BatchOut:
    return BatchOut(
        done=[p.id for p in result.done], skipped={str(p.id): why for p, why in result.skipped}
    )


@router.post("/batches/{window}/{month}/ratify", response_model=BatchOut)
async def ratify_batch(
    window: WindowKey, month: Month, session: SessionDep, principal: CurrentUser
) -> BatchOut:
    """The Bupati, or the Sekda by delegation, ratifies every verified proposal of a batch."""
    result = await batches.ratify_batch(
        session=session,
        principal=principal,
        key=window,
        month=batches.parse_month(month),
        trace_id=current_trace_id(),
    )
    return _batch_out(result)


@router.post("/batches/{window}/{month}/send", response_model=BatchOut)
async def send_batch(
    window: WindowKey, month: Month, session: SessionDep, principal: CurrentUser
) -> BatchOut:
    """Mark a batch's ratified proposals sent; only while its window is open."""
    result = await batches.send_batch(
        session=session,
        principal=principal,
        key=window,
        month=batches.parse_month(month),
        today=today(),
        trace_id=current_trace_id(),
    )
    return _batch_out(result)


@router.get("/batches/{window}/{month}/export")
async def export_batch(
    window: WindowKey, month: Month, session: SessionDep, principal: CurrentUser
) -> Response:
    """The sent proposals of a batch as CSV, for upload into the ministry's system."""
    text = await batches.export(
        session=session, principal=principal, key=window, month=batches.parse_month(month)
    )
    filename = f"usulan-{window}-{month}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class AnswerOut(SQLModel):
    applied: int
    errors: list[dict[str, str | int]] = Field(description="line and why it was not applied")
    waiting: int = Field(description="sent proposals of the batch still without an answer")


@router.post("/batches/{window}/{month}/answer", response_model=AnswerOut)
async def import_answer(
    window: WindowKey,
    month: Month,
    session: SessionDep,
    principal: CurrentUser,
    answer: Annotated[UploadFile, File(description="CSV: nik, hasil (diterima/ditolak), alasan")],
) -> AnswerOut:
    """The ministry's answer to a sent batch, per row; bad rows are reported by line."""
    result = await batches.import_answer(
        session=session,
        principal=principal,
        key=window,
        month=batches.parse_month(month),
        text=await read_csv_upload(answer),
        trace_id=current_trace_id(),
    )
    errors: list[dict[str, str | int]] = [
        {"line": line, "message": why} for line, why in result.errors
    ]
    return AnswerOut(applied=result.applied, errors=errors, waiting=result.waiting)


async def read_csv_upload(upload: UploadFile) -> str:
    """An uploaded CSV as text, or a 422/413 the admin can read."""
    content = await upload.read(ANSWER_MAX_BYTES + 1)
    if len(content) > ANSWER_MAX_BYTES:
        raise Refusal(413, "Berkas jawaban terlalu besar (paling besar 10 MB).")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(422, "Berkas jawaban harus CSV dengan pengodean UTF-8.") from None


ANSWER_MAX_BYTES = 10 * 1024 * 1024


class VisitPublic(SQLModel):
    id: UUID
    case_id: UUID
    registration_number: str
    desa_code: str
    name: str
    due_on: date
    overdue: bool
    checklist: list[str]
    verdict: str | None
    note: str
    visited_on: date | None
    visited_by: str | None


def visit_public(visit: Visit) -> VisitPublic:
    overdue = is_overdue(visit.due_on, visit.visited_on is not None, today())
    return VisitPublic.model_validate(
        {**visit.model_dump(), "checklist": visit.checklist, "overdue": overdue}
    )


@router.get("/visits", response_model=list[VisitPublic])
async def list_visits(
    session: SessionDep, principal: CurrentUser, done: bool = False
) -> list[VisitPublic]:
    """Home visits in your area, oldest due first: open ones (with `overdue`), or all."""
    found = await visit_service.visits(session=session, principal=principal, open_only=not done)
    return [visit_public(v) for v in found]


async def read_photos(uploads: list[UploadFile]) -> list[visit_service.Photo]:
    return [
        visit_service.Photo(
            filename=u.filename or "foto",
            content_type=u.content_type or "",
            content=await u.read(PHOTO_MAX_BYTES + 1),
        )
        for u in uploads[: MAX_PHOTOS + 1]
    ]


@router.post("/visits/{visit_id}", response_model=VisitPublic)
async def record_visit(
    visit_id: UUID,
    session: SessionDep,
    principal: CurrentUser,
    visited_on: Annotated[date, Form()],
    verdict: Annotated[Verdict, Form()],
    photos: Annotated[list[UploadFile], File(description="foto rumah, JPG/PNG")],
    checklist: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> VisitPublic:
    """What the kasun or TKSK found at the house: ticked conditions, verdict, photos."""
    findings = visit_service.Findings(
        visited_on=visited_on,
        checklist=checklist or [],
        verdict=verdict,
        note=note,
        photos=await read_photos(photos),
    )
    visit = await visit_service.record(
        session=session, principal=principal, visit_id=visit_id, findings=findings, today=today()
    )
    return visit_public(visit)


@router.get("/visits/{visit_id}/photos/{photo_id}")
async def get_visit_photo(
    visit_id: UUID, photo_id: UUID, session: SessionDep, principal: CurrentUser
) -> Response:
    found = await visit_service.photo(
        session=session, principal=principal, visit_id=visit_id, photo_id=photo_id
    )
    return Response(found.content, media_type=found.content_type)


@router.get("/warnings")
async def window_warnings(session: SessionDep, principal: CurrentUser) -> dict[str, list[str]]:
    """Per desa: what is unfinished in batches whose window closes within a few days."""
    return await proposals.unfinished_warnings(session=session, principal=principal, today=today())
