"""Page routes: server-rendered HTML in Bahasa Indonesia, no script bundle, one request a page.

The pages call the same service functions as the API, so a form refuses exactly what the
API refuses, with the same words.
"""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.intake import correction, documents, handling, precheck, service, uplink
from services.intake.api import SESSION_COOKIE, PrecheckIn, check_status_rate, document_storage
from services.intake.domain import (
    CASE_READERS,
    DOCUMENT_LABELS,
    ELECTRICITY_LABELS,
    FLOOR_LABELS,
    MAX_DOCUMENT_BYTES,
    STATUS_LABELS,
    CaseStatus,
    DocumentType,
)
from services.intake.models import (
    CaseAction,
    CaseCreate,
    CasePublic,
    CaseSummary,
    DetailsCorrection,
    IdentityCorrection,
    PublicStatus,
    RatingIn,
    ReopenIn,
)
from services.intake.workflow import (
    MOVES,
    STAGE_LABELS,
    Action,
    Resolution,
    Stage,
    actions_for,
)
from shared.areas import WIB, Area, AreaRegistry
from shared.auth import Principal, Role
from shared.contracts import CATEGORY_LABELS, Category
from shared.errors import Refusal, error_summary, field_errors
from shared.logging import current_trace_id
from shared.runtime import RuntimeDep, SessionDep
from shared.web import page_principal, service_templates, sign_in_pages

templates = service_templates(Path(__file__).with_name("templates"))
templates.context_processors.append(uplink.page_context)
router = APIRouter(include_in_schema=False)
sign_in = sign_in_pages(templates, cookie_name=SESSION_COOKIE, home="/kasus")
CATEGORIES = [(c.value, label) for c, label in CATEGORY_LABELS.items()]
Correction = TypeVar("Correction", IdentityCorrection, DetailsCorrection)
DETAIL_FIELDS = [name for name in DetailsCorrection.model_fields if name != "note"]
CONTACTS = [
    ("sms", "SMS"),
    ("whatsapp", "WhatsApp"),
    ("email", "E-mail"),
    ("none", "Tidak mau dikabari lewat HP/e-mail (kabar lewat kantor desa)"),
]
DOCUMENT_CHOICES = [(d.value, label) for d, label in DOCUMENT_LABELS.items()]
RESOLUTION_CHOICES = [
    (Resolution.INFORMATION.value, "Informasi"),
    (Resolution.DOCUMENT.value, "Dokumen"),
    (Resolution.VILLAGE_LETTER.value, "Surat desa (misalnya SKTM)"),
    (Resolution.REDIRECTED.value, "Dialihkan ke kantor lain"),
]
STATUSES = [(s.value, label) for s, label in STATUS_LABELS.items()]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


PageUser = Annotated[Principal, Depends(page_principal(SESSION_COOKIE))]


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/kasus", status_code=303)


@router.get("/status")
async def status_page(
    request: Request, session: SessionDep, registration_number: str = "", birth_date: str = ""
) -> HTMLResponse:
    """The citizen's own page: no sign-in, no personal data, rate-limited like the API."""
    context: dict[str, Any] = {"registration_number": registration_number, "birth_date": birth_date}
    if not (registration_number and birth_date):
        return render(request, "status.html", **context)
    try:
        await check_status_rate(request, session)
        born = date.fromisoformat(birth_date)
        case = await service.public_status(
            session=session, registration_number=registration_number[:40], birth_date=born
        )
    except ValueError:
        return render(request, "status.html", 422, error="Tanggal lahir tidak valid.", **context)
    except Refusal as refusal:
        return render(request, "status.html", refusal.status_code, error=refusal.message, **context)
    result = PublicStatus.of(case, today=datetime.now(WIB).date())
    return render(request, "status.html", result=result, **context)


@router.post("/status/nilai")
async def rate_page(
    request: Request,
    session: SessionDep,
    registration_number: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    rating: Annotated[str, Form(max_length=1)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    """The citizen rates their closed case from the status page."""
    fields = {"registration_number": registration_number, "birth_date": birth_date}
    return await _citizen_action(
        request, session, fields, RatingIn, {"rating": rating, "comment": comment}
    )


@router.post("/status/buka-kembali")
async def reopen_page(
    request: Request,
    session: SessionDep,
    registration_number: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    """The citizen reopens their closed case, within 30 days, from the status page."""
    fields = {"registration_number": registration_number, "birth_date": birth_date}
    return await _citizen_action(request, session, fields, ReopenIn, {"reason": reason})


async def _citizen_action(
    request: Request,
    session: SessionDep,
    fields: dict[str, Any],
    shape: type[RatingIn] | type[ReopenIn],
    extra: dict[str, str],
) -> HTMLResponse:
    today = datetime.now(WIB).date()
    try:
        await check_status_rate(request, session)
        data = shape.model_validate(fields | extra)
        if isinstance(data, RatingIn):
            case = await service.rate_case(session=session, data=data)
            done = "Terima kasih atas penilaian Anda."
        else:
            case = await service.reopen_case(session=session, data=data, today=today)
            done = "Kasus dibuka kembali dan dikembalikan ke kantor desa."
        await session.commit()
    except ValidationError as invalid:
        error = "; ".join(e["message"] for e in field_errors(invalid.errors()))
        return render(request, "status.html", 422, error=error, **fields)
    except Refusal as refusal:
        return render(request, "status.html", refusal.status_code, error=refusal.message, **fields)
    result = PublicStatus.of(case, today=today)
    return render(request, "status.html", 200, result=result, done=done, **fields)


@router.get("/kasus", response_model=None)
async def case_list(
    request: Request,
    session: SessionDep,
    principal: PageUser,
    q: str = "",
    status: str = "",
    category: str = "",
    incomplete: str = "",
    stage: str = "",
    dari: str = "",
    sampai: str = "",
) -> Response:
    service.require_role(principal, CASE_READERS, "melihat kasus")
    cases = await service.list_cases(
        session=session,
        area_code=principal.area_code,
        status=CaseStatus(status) if status in CaseStatus.__members__.values() else None,
        category=Category(category) if category in Category.__members__.values() else None,
        q=q[:100] or None,
        limit=100,
        incomplete=True if incomplete == "1" else None,
        stage=Stage(stage) if stage in Stage.__members__.values() else None,
        registered_from=_date_or_none(dari),
        registered_to=_date_or_none(sampai),
    )
    return render(
        request,
        "list.html",
        principal=principal,
        cases=[CaseSummary.of(c) for c in cases],
        q=q,
        status=status,
        category=category,
        statuses=STATUSES,
        categories=CATEGORIES,
        incomplete=incomplete == "1",
        stage=stage,
        stages=list(STAGE_LABELS.items()),
        dari=dari,
        sampai=sampai,
        village_rule=await handling.village_rule(session=session, desa_code=principal.area_code)
        if principal.role is Role.COORDINATOR
        else None,
        done=request.query_params.get("selesai", "")[:200],
    )


@router.post("/desa/aturan")
async def set_village_rule(
    session: SessionDep,
    principal: PageUser,
    head_signs: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """The coordinator's switch: whether the village head signs what leaves the village."""
    await handling.set_village_rule(
        session=session,
        principal=principal,
        desa_code=principal.area_code,
        head_signs=head_signs == "true",
    )
    done = "Aturan persetujuan desa disimpan."
    return RedirectResponse("/kasus?" + urlencode({"selesai": done}), status_code=303)


def _date_or_none(raw: str) -> date | None:
    """A filter date from the list's form; an unreadable one filters nothing."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def desas_of(areas: AreaRegistry, principal: Principal) -> list[Area]:
    """The desa a form may choose: those in the operator's area."""
    if areas.get(principal.area_code).level == "desa":
        return [areas.get(principal.area_code)]
    found: list[Area] = []
    for child in areas.children(principal.area_code):
        found.extend([child] if child.level == "desa" else areas.children(child.code))
    return found


def register_form(
    request: Request,
    runtime: RuntimeDep,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    context.setdefault("form", {})
    context.setdefault("errors", [])
    context.setdefault("idempotency_key", uuid4().hex)
    return render(
        request,
        "register.html",
        status_code,
        principal=principal,
        desas=desas_of(runtime.areas, principal),
        categories=CATEGORIES,
        floors=list(FLOOR_LABELS.items()),
        electricity=list(ELECTRICITY_LABELS.items()),
        contacts=CONTACTS,
        **context,
    )


@router.get("/kasus/baru", response_model=None)
async def new_case(
    request: Request, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> Response:
    return register_form(request, runtime, principal)


@router.post("/kasus/baru", response_model=None)
async def submit_case(
    request: Request, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    key = form.pop("idempotency_key", "") or None
    if form.pop("periksa", ""):
        return await _precheck_form(request, runtime, principal, form, key)
    checkboxes = {
        name: form.get(name) == "true" for name in ("urgent", "consent_to_share", "has_no_id")
    }
    fields = {k: v for k, v in form.items() if v != ""} | checkboxes
    try:
        data = CaseCreate.model_validate(fields)
        case, created = await service.submit_registration(
            session=session,
            data=data,
            areas=runtime.areas,
            principal=principal,
            trace_id=current_trace_id(),
            idempotency_key=key,
            precheck=partial(precheck.ask_verval, runtime),
        )
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        return register_form(
            request, runtime, principal, 422, form=form, errors=errors, idempotency_key=key
        )
    except Refusal as refusal:
        errors = refusal.extra.get("errors", [])
        return register_form(
            request,
            runtime,
            principal,
            refusal.status_code,
            form=form,
            errors=errors,
            message=refusal.message,
            idempotency_key=key,
        )
    if created:
        runtime.relay.wake()
    return RedirectResponse(f"/kasus/{case.id}?baru=1", status_code=303)


async def _precheck_form(
    request: Request,
    runtime: RuntimeDep,
    principal: Principal,
    form: dict[str, str],
    key: str | None,
) -> HTMLResponse:
    """Ask verval while the citizen waits, and show the form again with its answer."""
    shown: dict[str, Any] = {"form": form, "idempotency_key": key or uuid4().hex}
    try:
        asked = PrecheckIn.model_validate(
            {"nik": form.get("nik", ""), "category": form.get("category")}
        )
    except ValidationError as exc:
        return register_form(
            request, runtime, principal, 422, errors=field_errors(exc.errors()), **shown
        )
    reply = await precheck.ask_verval(runtime, asked.nik, asked.category)
    if reply is None:
        message = "verval belum menjawab; kasus tetap dapat disimpan dan diperiksa sesudahnya."
    elif not reply.registry_loaded:
        message = "data registri belum diimpor di kabupaten."
    else:
        message = "tidak ada catatan khusus." if not reply.advice else "perhatikan hal berikut."
    return register_form(
        request, runtime, principal, 200, precheck=reply, precheck_message=message, **shown
    )


@router.get("/kasus/{case_id}", response_model=None)
async def case_page(
    request: Request, case_id: UUID, session: SessionDep, principal: PageUser, baru: int = 0
) -> Response:
    case, timeline = await service.read_case(
        session=session, principal=principal, case_id=case_id, purpose="halaman kasus"
    )
    checklist = await documents.checklist_of(session=session, case=case)
    return render(
        request,
        "case.html",
        principal=principal,
        case=CasePublic.of_case(case, timeline),
        details={field: getattr(case, field) for field in DETAIL_FIELDS},
        contacts=CONTACTS,
        created=bool(baru),
        checklist=checklist,
        document_types=DOCUMENT_CHOICES,
        floors={f.value: label for f, label in FLOOR_LABELS.items()},
        electricity={e.value: label for e, label in ELECTRICITY_LABELS.items()},
        error=request.query_params.get("galat"),
        actions=[
            (a.value, MOVES[a].label)
            for a in actions_for(Stage(case.stage), principal.role, consent=case.may_share())
        ],
        resolutions=RESOLUTION_CHOICES,
    )


@router.get("/kasus/{case_id}/tanda-terima", response_model=None)
async def receipt(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
) -> Response:
    """The printable receipt the citizen takes home: the number to read out and what is missing."""
    case, timeline = await service.read_case(
        session=session, principal=principal, case_id=case_id, purpose="cetak tanda terima"
    )
    return render(
        request,
        "receipt.html",
        principal=principal,
        case=CasePublic.of_case(case, timeline),
        checklist=await documents.checklist_of(session=session, case=case),
        desa_name=runtime.areas.get(case.desa_code).name,
    )


@router.post("/kasus/{case_id}/tindakan", response_model=None)
async def act_on_case(
    case_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    action: Annotated[Action, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
    resolution: Annotated[str, Form()] = "",
) -> Response:
    command = CaseAction(
        action=action,
        reason=reason,
        resolution=Resolution(resolution)
        if resolution in Resolution.__members__.values()
        else None,
    )
    try:
        await handling.act_on_case(
            session=session,
            principal=principal,
            case_id=case_id,
            command=command,
            trace_id=current_trace_id(),
        )
    except Refusal as refusal:
        return RedirectResponse(f"/kasus/{case_id}?galat={quote(refusal.message)}", status_code=303)
    runtime.relay.wake()
    return RedirectResponse(f"/kasus/{case_id}", status_code=303)


@router.post("/kasus/{case_id}/identitas", response_model=None)
async def correct_identity(
    request: Request, case_id: UUID, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> Response:
    """The identity typed again from the citizen's KTP and KK, with what was corrected."""

    async def apply(data: IdentityCorrection) -> object:
        return await correction.correct_identity(
            session=session,
            principal=principal,
            case_id=case_id,
            data=data,
            trace_id=current_trace_id(),
        )

    return await _correct(request, case_id, runtime, IdentityCorrection, apply)


@router.post("/kasus/{case_id}/data", response_model=None)
async def correct_details(
    request: Request, case_id: UUID, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> Response:
    """Contact, complaint, address and household given again, with what was corrected."""

    async def apply(data: DetailsCorrection) -> object:
        return await correction.correct_details(
            session=session,
            principal=principal,
            case_id=case_id,
            data=data,
            trace_id=current_trace_id(),
        )

    return await _correct(request, case_id, runtime, DetailsCorrection, apply)


async def _correct(
    request: Request,
    case_id: UUID,
    runtime: RuntimeDep,
    shape: type[Correction],
    apply: Callable[[Correction], Awaitable[object]],
) -> Response:
    """A correction form, checked as the API checks it; the case page shows what failed."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    try:
        await apply(shape.model_validate({k: v for k, v in form.items() if v != ""}))
    except ValidationError as invalid:
        message = error_summary(field_errors(invalid.errors()))
        return RedirectResponse(f"/kasus/{case_id}?galat={quote(message)}", status_code=303)
    except Refusal as refusal:
        return RedirectResponse(f"/kasus/{case_id}?galat={quote(refusal.message)}", status_code=303)
    runtime.relay.wake()
    return RedirectResponse(f"/kasus/{case_id}", status_code=303)


@router.post("/kasus/{case_id}/dokumen", response_model=None)
async def upload_document(
    case_id: UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    doc_type: Annotated[DocumentType, Form()],
    file: UploadFile,
    principal: PageUser,
) -> Response:
    try:
        await documents.add_document(
            session=session,
            storage=document_storage(runtime),
            principal=principal,
            case_id=case_id,
            doc_type=doc_type,
            content=await file.read(MAX_DOCUMENT_BYTES + 1),
        )
    except Refusal as refusal:
        return RedirectResponse(f"/kasus/{case_id}?galat={quote(refusal.message)}", status_code=303)
    return RedirectResponse(f"/kasus/{case_id}", status_code=303)
