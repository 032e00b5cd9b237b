"""The secretariat's and liaisons' pages: queues, a referral with its actions, the dashboard.

Server-rendered HTML in Bahasa Indonesia, one request a page. The pages call the same
service functions as the API, so a form refuses what the API refuses, in the same words.
"""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.referral import kis_daerah, queries, routing, service
from services.referral.api import SESSION_COOKIE
from services.referral.domain import HEALTH_COVER, TRIAGE
from services.referral.kis_daerah import PLACE_LABELS, PlaceStatus
from services.referral.lifecycle import (
    CARD_LABELS,
    COMMAND_LABELS,
    NOT_SERVED_LABELS,
    REJECTION_LABELS,
    STATUS_LABELS,
    CardStage,
    RejectionReason,
    Status,
    commands_for,
)
from services.referral.models import (
    CaseFile,
    OrderIn,
    Queue,
    Referral,
    ReferralStep,
)
from services.referral.sla import TIMED
from shared.areas import WIB, AreaRegistry
from shared.auth import Principal, Role
from shared.contracts import CATEGORY_LABELS, category_label
from shared.db import as_utc
from shared.errors import Refusal, field_errors
from shared.logging import current_trace_id
from shared.runtime import RuntimeDep, SessionDep
from shared.web import area_namer, page_principal, service_templates, sign_in_pages

templates = service_templates(Path(__file__).with_name("templates"))
router = APIRouter(include_in_schema=False)
sign_in = sign_in_pages(templates, cookie_name=SESSION_COOKIE, home="/rujukan?antrean=open")
PageUser = Annotated[Principal, Depends(page_principal(SESSION_COOKIE))]

QUEUES: dict[str, str] = {
    "open": "Rujukan berjalan",
    "overdue": "Rujukan terlambat",
    "triage": "Antrean triase",
    "all": "Semua rujukan",
}
GROUPS = {
    "kecamatan": "Kecamatan",
    "desa_code": "Desa",
    "category": "Kategori",
    "destination": "Tujuan",
    "created_month": "Bulan",
}
STEP_LABELS = {
    "create": "Dibuat",
    "assign": "Dialihkan",
    "card": "Kartu KIS",
    "kis_daerah": "KIS Daerah",
    **{c.value: label for c, label in COMMAND_LABELS.items()},
}


def _local(moment: datetime) -> str:
    return as_utc(moment).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def _is_late(referral: Referral) -> bool:
    due = referral.due_at
    if due is None or Status(referral.status) not in TIMED:
        return False
    return as_utc(due) < datetime.now(UTC)


async def render(
    request: Request,
    name: str,
    principal: Principal,
    session: SessionDep,
    areas: AreaRegistry,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    common = {
        "principal": principal,
        "statuses": {s.value: label for s, label in STATUS_LABELS.items()},
        "categories": {c.value: label for c, label in CATEGORY_LABELS.items()},
        "destinations": await routing.destinations(session),
        "local": _local,
        "is_late": _is_late,
        "area_name": area_namer(areas),
    }
    return templates.TemplateResponse(request, name, {**common, **context}, status_code=status_code)


@router.get("/")
async def home(principal: PageUser) -> RedirectResponse:
    return RedirectResponse("/rujukan?antrean=open", status_code=303)


@router.get("/rujukan")
async def referral_list(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    antrean: str = "open",
    status: str = "",
    tujuan: str = "",
    halaman: int = 1,
) -> HTMLResponse:
    service.require_reader(principal)
    queue: Queue = antrean if antrean in QUEUES else "open"  # type: ignore[assignment]
    page = max(1, min(halaman, 10_000))
    filters = queries.Filters(
        queue=queue, status=status or None, destination=tujuan or None, page=page
    )
    found = await queries.referrals(
        session=session, principal=principal, filters=filters, now=datetime.now(UTC)
    )

    def page_url(number: int) -> str:
        query = {"antrean": queue, "status": status, "tujuan": tujuan, "halaman": number}
        return "/rujukan?" + urlencode(query)

    return await render(
        request,
        "list.html",
        principal,
        session,
        runtime.areas,
        referrals=found,
        queue=queue,
        queues=QUEUES,
        status=status,
        destination=tujuan,
        page=page,
        page_size=queries.PAGE_SIZE,
        page_url=page_url,
    )


async def _referral_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    referral_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    referral = await service.visible_referral(
        session=session, principal=principal, referral_id=referral_id, purpose="halaman rujukan"
    )
    steps = await service.steps_of(session, referral.id)
    file = await session.get(CaseFile, referral.case_id)
    place = await kis_daerah.place_of(session=session, referral_id=referral.id)
    await session.commit()  # the audit entry of the read
    status = Status(referral.status)
    commands = commands_for(principal, status, destination=referral.destination)
    card_allowed = (
        referral.destination == HEALTH_COVER
        and status in {Status.IN_SERVICE, Status.COMPLETED}
        and (principal.role is not Role.LIAISON or principal.agency == referral.destination)
    )

    def step_label(step: ReferralStep) -> str:
        return STEP_LABELS.get(step.command, step.command)

    return await render(
        request,
        "referral.html",
        principal,
        session,
        runtime.areas,
        status_code,
        r=referral,
        steps=steps,
        consent=file is not None and file.consent_to_share,
        commands=[(c.value, COMMAND_LABELS[c]) for c in commands],
        rejections={r.value: label for r, label in REJECTION_LABELS.items()},
        not_served={n.value: label for n, label in NOT_SERVED_LABELS.items()},
        cards={c.value: label for c, label in CARD_LABELS.items()},
        card_stages=[(c.value, CARD_LABELS[c]) for c in CardStage] if card_allowed else [],
        can_assign=referral.destination == TRIAGE.code
        and status is Status.CREATED
        and principal.role in {Role.SECRETARIAT, Role.SECRETARIAT_HEAD},
        step_label=step_label,
        district_cover=PLACE_LABELS[PlaceStatus(place.status)] if place else "",
        **context,
    )


@router.get("/rujukan/{referral_id}")
async def referral_page(
    request: Request,
    referral_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    selesai: str = "",
) -> HTMLResponse:
    try:
        return await _referral_page(
            request, session, runtime, principal, referral_id, done=selesai[:200]
        )
    except Refusal as refusal:
        return await _refused_page(request, session, runtime, principal, refusal)


async def _refused_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    refusal: Refusal,
) -> HTMLResponse:
    return await render(
        request,
        "list.html",
        principal,
        session,
        runtime.areas,
        refusal.status_code,
        referrals=[],
        queue="open",
        queues=QUEUES,
        status="",
        destination="",
        page=1,
        page_size=queries.PAGE_SIZE,
        page_url=lambda n: "/rujukan",
        error=refusal.message,
    )


async def _refused_action(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    referral_id: UUID,
    refusal: Refusal,
) -> HTMLResponse:
    """The referral's page again, saying in words why the action was refused."""
    await session.rollback()
    return await _referral_page(
        request,
        session,
        runtime,
        principal,
        referral_id,
        refusal.status_code,
        error=refusal.message,
    )


def _done(referral_id: UUID, message: str) -> RedirectResponse:
    query = urlencode({"selesai": message})
    return RedirectResponse(f"/rujukan/{referral_id}?{query}", status_code=303)


@router.post("/rujukan/{referral_id}/tindakan", response_model=None)
async def act(
    request: Request,
    referral_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    command: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    rejection_reason: Annotated[str, Form()] = "",
    served: Annotated[str, Form()] = "",
    not_served_reason: Annotated[str, Form()] = "",
    consent_override: Annotated[str, Form()] = "",
) -> Response:
    fields = {
        "command": command,
        "note": note,
        "rejection_reason": rejection_reason or None,
        "served": served or None,
        "not_served_reason": not_served_reason or None,
        "consent_override": consent_override == "true",
    }
    try:
        order = OrderIn.model_validate(fields).order()
        referral = await service.act(
            session=session,
            principal=principal,
            referral_id=referral_id,
            order=order,
            trace_id=current_trace_id(),
            now=datetime.now(UTC),
        )
        await session.commit()
    except ValidationError as invalid:
        await session.rollback()
        error = "; ".join(e["message"] for e in field_errors(invalid.errors()))
        return await _referral_page(
            request, session, runtime, principal, referral_id, 422, error=error
        )
    except Refusal as refusal:
        return await _refused_action(request, session, runtime, principal, referral_id, refusal)
    return _done(referral_id, f"Tersimpan: {STATUS_LABELS[Status(referral.status)]}.")


@router.post("/rujukan/{referral_id}/kartu", response_model=None)
async def card(
    request: Request,
    referral_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    stage: Annotated[CardStage, Form()],
) -> Response:
    try:
        await service.record_card(
            session=session,
            principal=principal,
            referral_id=referral_id,
            stage=stage,
            note="",
            trace_id=current_trace_id(),
            now=datetime.now(UTC),
        )
        await session.commit()
    except Refusal as refusal:
        return await _refused_action(request, session, runtime, principal, referral_id, refusal)
    return _done(referral_id, f"Tersimpan: {CARD_LABELS[stage]}.")


@router.post("/rujukan/{referral_id}/alihkan", response_model=None)
async def assign(
    request: Request,
    referral_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    destination: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        referral = await service.assign(
            session=session,
            principal=principal,
            referral_id=referral_id,
            to=destination,
            note=note,
            now=datetime.now(UTC),
        )
        await session.commit()
    except Refusal as refusal:
        return await _refused_action(request, session, runtime, principal, referral_id, refusal)
    target = await routing.destination(session, referral.destination)
    return _done(referral_id, f"Dialihkan ke {target.name}.")


@router.get("/dasbor")
async def dashboard(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    per: str = "kecamatan",
) -> HTMLResponse:
    service.require_reader(principal)
    by = per if per in GROUPS else "kecamatan"
    rows = await queries.dashboard(session=session, principal=principal, by=by)
    namer = area_namer(runtime.areas)
    names = {code: d.name for code, d in (await routing.destinations(session)).items()}
    labels: dict[str, Any] = {
        "kecamatan": namer,
        "desa_code": namer,
        "category": category_label,
        "destination": lambda key: names.get(key, key),
        "created_month": str,
    }
    return await render(
        request,
        "dashboard.html",
        principal,
        session,
        runtime.areas,
        rows=rows,
        widest=max((row.total for row in rows), default=1),
        by=by,
        groups=GROUPS,
        label=labels[by],
        counts=await queries.counts_by_status(session=session, principal=principal),
        overdue=await queries.overdue_count(
            session=session, principal=principal, now=datetime.now(UTC)
        ),
        this_month=datetime.now(WIB).strftime("%Y-%m"),
        quota=await kis_daerah.use_of(session=session, year=datetime.now(WIB).year),
    )


REPORT_COLUMNS = [
    "nomor_registrasi",
    "kecamatan",
    "desa",
    "kategori",
    "tujuan",
    "status",
    "dibuat",
    "berakhir",
    "hasil",
    "alasan_penolakan",
    "mendesak",
]


@router.get("/laporan.csv")
async def monthly_report(
    session: SessionDep, runtime: RuntimeDep, principal: PageUser, bulan: str = ""
) -> Response:
    """The month's referrals (by creation date, WIB) for the district's monthly report."""
    service.require_reader(principal)
    try:
        month = datetime.strptime(bulan or datetime.now(WIB).strftime("%Y-%m"), "%Y-%m")
    except ValueError:
        return Response("Bulan tidak valid; gunakan format TTTT-BB.", status_code=422)
    found = await queries.created_in_month(
        session=session, principal=principal, month=month.strftime("%Y-%m")
    )
    namer = area_namer(runtime.areas)
    names = {code: d.name for code, d in (await routing.destinations(session)).items()}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for r in found:
        writer.writerow(_report_row(r, namer, names.get(r.destination, r.destination)))
    filename = f"rujukan-{month.strftime('%Y-%m')}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _report_row(r: Referral, namer: Any, destination: str) -> list[str]:
    outcome = {True: "dilayani", False: "tidak dilayani", None: ""}[r.served]
    rejection = REJECTION_LABELS[RejectionReason(r.rejection_reason)] if r.rejection_reason else ""
    return [
        r.registration_number,
        namer(r.kecamatan),
        namer(r.desa_code),
        category_label(r.category),
        destination,
        STATUS_LABELS[Status(r.status)],
        _local(r.created_at),
        _local(r.ended_at) if r.ended_at else "",
        outcome,
        rejection,
        "ya" if r.urgent else "tidak",
    ]
