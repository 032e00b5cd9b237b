"""The DTKS proposal pages: the village drafts and records its musyawarah desa, the district
DTKS admin verifies, sends and downloads batches, the Bupati or Sekda ratifies them.

Server-rendered HTML in Bahasa Indonesia, one request a page. The forms call the same
service functions as the API, so a page refuses what the API refuses, in the same words.
"""

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.verval import batches, visit_service
from services.verval import proposal_service as proposals
from services.verval.api import SESSION_COOKIE, read_csv_upload, read_photos, today
from services.verval.models import Proposal
from services.verval.proposals import (
    KIND_LABELS,
    PROGRAMS,
    RATIFIERS,
    STATUS_LABELS,
    VILLAGE_STAFF,
    WINDOWS,
    Command,
    Kind,
    Status,
    batch_name,
    month_name,
    window_open,
)
from services.verval.visits import CHECKLIST, VERDICT_LABELS, VISITORS, Verdict, is_overdue
from shared.areas import AreaRegistry
from shared.auth import Principal, Role
from shared.errors import Refusal
from shared.logging import current_trace_id
from shared.runtime import RuntimeDep, SessionDep
from shared.web import area_namer, page_principal, service_templates, sign_in_pages

templates = service_templates(Path(__file__).with_name("templates"))
router = APIRouter(include_in_schema=False)
sign_in = sign_in_pages(templates, cookie_name=SESSION_COOKIE, home="/usulan")
PageUser = Annotated[Principal, Depends(page_principal(SESSION_COOKIE))]

# What each role may do from the proposal page (the rules decide the rest).
PAGE_COMMANDS = {
    Status.OPEN: [(Command.DRAFT, "Susun usulan (data sudah diperiksa)")],
    Status.APPROVED: [(Command.VERIFY, "Verifikasi"), (Command.RETURN, "Kembalikan ke desa")],
    Status.VERIFIED: [(Command.RETURN, "Kembalikan ke desa")],
}


def render(
    request: Request,
    name: str,
    principal: Principal,
    areas: AreaRegistry,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    common = {
        "principal": principal,
        "statuses": {s.value: label for s, label in STATUS_LABELS.items()},
        "kinds": {k.value: label for k, label in KIND_LABELS.items()},
        "windows": {key: label for key, (label, _, _) in WINDOWS.items()},
        "batch_name": batch_name,
        "month_name": month_name,
        "area_name": area_namer(areas),
        "is_ratifier": principal.role in RATIFIERS,
        "is_dtks_admin": principal.role is Role.DTKS_ADMIN,
        "statuses_enum": Status,
        "is_overdue": is_overdue,
    }
    return templates.TemplateResponse(request, name, {**common, **context}, status_code=status_code)


@router.get("/")
async def home(principal: PageUser) -> RedirectResponse:
    return RedirectResponse("/usulan", status_code=303)


@router.get("/usulan")
async def proposal_list(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    status: str = "",
    bulan: str = "",
    halaman: int = 1,
    error: str = "",
    done: str = "",
) -> HTMLResponse:
    chosen = Status(status) if status in Status.__members__.values() else None
    month, page = _month_or_none(bulan), max(1, min(halaman, 100_000))
    found = await proposals.listing(
        session=session, principal=principal, status=chosen, month=month, page=page
    )
    warnings = await proposals.unfinished_warnings(
        session=session, principal=principal, today=today()
    )
    approver = principal.role in (Role.COORDINATOR, Role.VILLAGE_HEAD)
    drafts = (
        await proposals.listing(  # the musyawarah desa's form: the first page of drafts
            session=session, principal=principal, status=Status.DRAFTED, month=month
        )
        if approver
        else []
    )

    def page_url(number: int) -> str:
        return "/usulan?" + urlencode({"status": status, "bulan": bulan, "halaman": number})

    return render(
        request,
        "proposals.html",
        principal,
        runtime.areas,
        proposals=found,
        warnings=warnings,
        status=status,
        bulan=bulan,
        months=sorted({p.batch_month for p in found}),
        drafts=drafts,
        page=page,
        page_size=proposals.PAGE_SIZE,
        page_url=page_url,
        can_propose=principal.role in VILLAGE_STAFF,
        programs=PROGRAMS,
        error=error,
        done=done,
        today=today(),
    )


def _month_or_none(text: str) -> date | None:
    try:
        return batches.parse_month(text) if text else None
    except Refusal:
        return None


@router.post("/usulan", response_model=None)
async def propose(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    nik: Annotated[str, Form(max_length=20)],
    kind: Annotated[Kind, Form()],
    program: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=500)],
) -> Response:
    try:
        proposal = await proposals.propose(
            session=session, principal=principal, nik=nik.strip(), kind=kind, program=program,
            reason=reason, today=today(), trace_id=current_trace_id(),
        )  # fmt: skip
    except Refusal as refusal:
        return await proposal_list(request, session, runtime, principal, error=refusal.message)
    return RedirectResponse(f"/usulan/{proposal.id}?done=Usulan disusun", status_code=303)


@router.get("/usulan/{proposal_id}")
async def proposal_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    proposal_id: UUID,
    error: str = "",
    done: str = "",
) -> HTMLResponse:
    try:
        proposal = await proposals.find(session, principal, proposal_id)
    except Refusal as refusal:
        return _not_found(request, principal, runtime.areas, refusal)
    steps = await proposals.history(session, proposal.id)
    visit = await visit_service.of_proposal(session, proposal.id)
    await session.commit()  # the audit entry of the read
    return render(
        request,
        "proposal.html",
        principal,
        runtime.areas,
        status_code=409 if error else 200,
        p=proposal,
        visit=visit,
        verdicts=VERDICT_LABELS,
        steps=steps,
        commands=PAGE_COMMANDS.get(Status(proposal.status), []),
        error=error,
        done=done,
        letter=proposal.kind == Kind.REACTIVATION.value,
    )


def _not_found(
    request: Request, principal: Principal, areas: AreaRegistry, refusal: Refusal
) -> HTMLResponse:
    return render(
        request, "message.html", principal, areas, refusal.status_code, message=refusal.message
    )


@router.post("/usulan/{proposal_id}/tindakan", response_model=None)
async def proposal_action(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    proposal_id: UUID,
    command: Annotated[Command, Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        await proposals.act(
            session=session,
            principal=principal,
            proposal_id=proposal_id,
            command=command,
            note=note,
            trace_id=current_trace_id(),
        )
    except Refusal as refusal:
        return await proposal_page(
            request, session, runtime, principal, proposal_id, error=refusal.message
        )
    return RedirectResponse(f"/usulan/{proposal_id}?done=Tersimpan", status_code=303)


@router.post("/musdes", response_model=None)
async def record_musdes(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    held_on: Annotated[date, Form()],
    minutes: Annotated[UploadFile, File()],
    proposal_ids: Annotated[list[UUID] | None, Form()] = None,
) -> Response:
    record = proposals.Minutes(
        held_on=held_on,
        filename=minutes.filename or "berita-acara",
        content_type=minutes.content_type or "",
        content=await minutes.read(proposals.MINUTES_MAX_BYTES + 1),
    )
    try:
        approved = await proposals.approve_in_musdes(
            session=session,
            principal=principal,
            proposal_ids=proposal_ids or [],
            minutes=record,
            today=today(),
            trace_id=current_trace_id(),
        )
    except Refusal as refusal:
        return await proposal_list(
            request, session, runtime, principal, status=Status.DRAFTED.value,
            error=refusal.message,
        )  # fmt: skip
    done = f"{len(approved)} usulan disetujui musyawarah desa"
    return RedirectResponse("/usulan?" + urlencode({"done": done}), status_code=303)


@router.get("/batch/{window}/{bulan}")
async def batch_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    window: str,
    bulan: str,
    error: str = "",
    done: str = "",
) -> HTMLResponse:
    month = _month_or_none(bulan)
    if window not in WINDOWS or month is None:
        return _not_found(request, principal, runtime.areas, Refusal(404, "Batch tidak dikenal."))
    rows = await batches.batch(session, principal, window, month)
    by_desa: dict[str, list[Proposal]] = {}
    for p in rows:
        by_desa.setdefault(p.desa_code, []).append(p)
    return render(
        request,
        "batch.html",
        principal,
        runtime.areas,
        window=window,
        month=month,
        bulan=bulan,
        by_desa=by_desa,
        counts={s: sum(p.status == s.value for p in rows) for s in Status},
        open_now=window_open(window, month, today()),
        error=error,
        done=done,
    )


@router.post("/batch/{window}/{bulan}/{step}", response_model=None)
async def batch_step(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    window: str,
    bulan: str,
    step: str,
) -> Response:
    month = _month_or_none(bulan)
    if window not in WINDOWS or month is None or step not in ("sahkan", "kirim"):
        return _not_found(request, principal, runtime.areas, Refusal(404, "Batch tidak dikenal."))
    try:
        if step == "sahkan":
            result = await batches.ratify_batch(
                session=session, principal=principal, key=window, month=month,
                trace_id=current_trace_id(),
            )  # fmt: skip
        else:
            result = await batches.send_batch(
                session=session, principal=principal, key=window, month=month, today=today(),
                trace_id=current_trace_id(),
            )  # fmt: skip
    except Refusal as refusal:
        return await batch_page(
            request, session, runtime, principal, window, bulan, error=refusal.message
        )
    what = "disahkan" if step == "sahkan" else "dikirim"
    done = f"{len(result.done)} usulan {what}"
    if result.skipped:
        done += "; " + "; ".join(f"{p.name}: {why}" for p, why in result.skipped)
    return RedirectResponse(
        f"/batch/{window}/{bulan}?" + urlencode({"done": done}), status_code=303
    )


@router.post("/batch/{window}/{bulan}/jawaban", response_model=None)
async def batch_answer(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    window: str,
    bulan: str,
    answer: Annotated[UploadFile, File()],
) -> Response:
    month = _month_or_none(bulan)
    if window not in WINDOWS or month is None:
        return _not_found(request, principal, runtime.areas, Refusal(404, "Batch tidak dikenal."))
    try:
        result = await batches.import_answer(
            session=session, principal=principal, key=window, month=month,
            text=await read_csv_upload(answer), trace_id=current_trace_id(),
        )  # fmt: skip
    except Refusal as refusal:
        return await batch_page(
            request, session, runtime, principal, window, bulan, error=refusal.message
        )
    done = f"{result.applied} jawaban Kemensos dicatat; {result.waiting} usulan belum dijawab"
    if result.errors:
        done += ". Tidak dicatat: " + "; ".join(f"baris {n}: {why}" for n, why in result.errors)
    return RedirectResponse(
        f"/batch/{window}/{bulan}?" + urlencode({"done": done}), status_code=303
    )


@router.get("/usulan/{proposal_id}/surat")
async def recommendation_letter(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    proposal_id: UUID,
) -> HTMLResponse:
    """The printable PBI-JK reactivation recommendation letter; it always states the ID-DTKS."""
    try:
        proposal = await proposals.recommendation(
            session=session, principal=principal, proposal_id=proposal_id
        )
    except Refusal as refusal:
        return _not_found(request, principal, runtime.areas, refusal)
    return render(request, "letter.html", principal, runtime.areas, p=proposal, today=today())


@router.get("/kunjungan")
async def visit_list(
    request: Request, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> HTMLResponse:
    """Open home visits, oldest due first; overdue ones marked."""
    found = await visit_service.visits(session=session, principal=principal)
    return render(request, "visits.html", principal, runtime.areas, visits=found, today=today())


@router.get("/kunjungan/{visit_id}")
async def visit_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    visit_id: UUID,
    error: str = "",
    done: str = "",
) -> HTMLResponse:
    try:
        visit = await visit_service.find(session, principal, visit_id)
    except Refusal as refusal:
        return _not_found(request, principal, runtime.areas, refusal)
    photos = await visit_service.photos_of(session, visit.id)
    await session.commit()  # the audit entry of the read
    return render(
        request, "visit.html", principal, runtime.areas, 422 if error else 200, v=visit,
        photos=photos, checklist=CHECKLIST, verdicts=VERDICT_LABELS, error=error, done=done,
        can_record=principal.role in VISITORS and visit.visited_on is None, today=today(),
    )  # fmt: skip


@router.post("/kunjungan/{visit_id}", response_model=None)
async def visit_record(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    visit_id: UUID,
    visited_on: Annotated[date, Form()],
    verdict: Annotated[Verdict, Form()],
    photos: Annotated[list[UploadFile], File()],
    checklist: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    findings = visit_service.Findings(
        visited_on=visited_on, checklist=checklist or [], verdict=verdict, note=note,
        photos=await read_photos(photos),
    )  # fmt: skip
    try:
        await visit_service.record(
            session=session, principal=principal, visit_id=visit_id, findings=findings,
            today=today(),
        )  # fmt: skip
    except Refusal as refusal:
        return await visit_page(
            request, session, runtime, principal, visit_id, error=refusal.message
        )
    return RedirectResponse(f"/kunjungan/{visit_id}?done=Kunjungan dicatat", status_code=303)


@router.get("/ketidaksesuaian")
async def mismatch_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> HTMLResponse:
    """Cases whose data differ from Dukcapil, per village: what each must have corrected."""
    by_desa = await proposals.mismatches(session=session, principal=principal)
    back = await batches.reappeared(session=session, principal=principal)
    return render(
        request, "mismatches.html", principal, runtime.areas, by_desa=by_desa, reappeared=back
    )
