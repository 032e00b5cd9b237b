"""The district's routing settings page: destinations and rules (edited by the admin and
the secretariat head, seen by the secretariat and liaisons)."""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.referral import kis_daerah, routing
from services.referral.domain import Channel
from services.referral.models import DestinationIn, RuleIn
from services.referral.web.pages import PageUser, render
from shared.areas import WIB
from shared.auth import Principal
from shared.contracts import category_label
from shared.errors import Refusal, error_summary, field_errors
from shared.runtime import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


CHANNEL_LABELS = {
    Channel.APPLICATION: "Aplikasi SLRT (penghubung)",
    Channel.EMAIL: "E-mail",
    Channel.LETTER: "Surat",
    Channel.PHONE: "Telepon",
}


@router.get("/pengaturan")
async def settings_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    selesai: str = "",
) -> HTMLResponse:
    return await _settings(request, session, runtime, principal, done=selesai)


async def _settings(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    status_code: int = 200,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    routing.require_viewer(principal)
    return await render(
        request,
        "settings.html",
        principal,
        session,
        runtime.areas,
        status_code,
        rules=await routing.rule_rows(session),
        channels={c.value: label for c, label in CHANNEL_LABELS.items()},
        can_edit=principal.role in routing.EDITORS,
        quota=await kis_daerah.use_of(session=session, year=datetime.now(WIB).year),
        done=done[:200],
        error=error,
    )


def _settings_done(message: str) -> RedirectResponse:
    return RedirectResponse("/pengaturan?" + urlencode({"selesai": message}), status_code=303)


async def _settings_refused(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    error: str,
    code: int,
) -> HTMLResponse:
    await session.rollback()
    return await _settings(request, session, runtime, principal, status_code=code, error=error)


@router.post("/pengaturan/tujuan/{code}", response_model=None)
async def change_destination(
    request: Request,
    code: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    name: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    answer_days: Annotated[str, Form()] = "",
    service_days: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    fields = {
        "name": name,
        "contact": contact,
        "channel": channel,
        "answer_days": answer_days,
        "service_days": service_days,
        "active": active == "true",
    }
    try:
        data = DestinationIn.model_validate(fields)
        changed = await routing.change_destination(
            session=session, principal=principal, code=code, data=data
        )
    except ValidationError as invalid:
        error = error_summary(field_errors(invalid.errors()))
        return await _settings_refused(request, session, runtime, principal, error, 422)
    except Refusal as refusal:
        return await _settings_refused(
            request, session, runtime, principal, refusal.message, refusal.status_code
        )
    return _settings_done(f"Tersimpan: {changed.name}.")


@router.post("/pengaturan/aturan", response_model=None)
async def add_rule(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    category: Annotated[str, Form()],
    destination: Annotated[str, Form()],
    in_dtks: Annotated[str, Form()] = "",
    urgent: Annotated[str, Form()] = "",
    max_desil: Annotated[str, Form()] = "",
    lacks_program: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    fields = {
        "category": category,
        "destination": destination,
        "in_dtks": in_dtks or None,
        "urgent": urgent or None,
        "max_desil": max_desil or None,
        "lacks_program": lacks_program.strip() or None,
    }
    try:
        rule = await routing.add_rule(
            session=session, principal=principal, data=RuleIn.model_validate(fields)
        )
    except ValidationError as invalid:
        error = error_summary(field_errors(invalid.errors()))
        return await _settings_refused(request, session, runtime, principal, error, 422)
    except Refusal as refusal:
        return await _settings_refused(
            request, session, runtime, principal, refusal.message, refusal.status_code
        )
    return _settings_done(f"Aturan ditambahkan: {category_label(rule.category)}.")


@router.post("/pengaturan/aturan/{rule_id}/hapus", response_model=None)
async def remove_rule(
    request: Request, rule_id: int, session: SessionDep, runtime: RuntimeDep, principal: PageUser
) -> Response:
    try:
        await routing.remove_rule(session=session, principal=principal, rule_id=rule_id)
    except Refusal as refusal:
        return await _settings_refused(
            request, session, runtime, principal, refusal.message, refusal.status_code
        )
    return _settings_done("Aturan dihapus.")


@router.post("/pengaturan/kis-daerah", response_model=None)
async def set_quota(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: PageUser,
    year: Annotated[int, Form(ge=2000, le=2100)],
    places: Annotated[str, Form()] = "",
) -> Response:
    if not places.isdigit() or int(places) > 1_000_000:
        error = "Jumlah tempat harus angka 0 atau lebih."
        return await _settings_refused(request, session, runtime, principal, error, 422)
    try:
        use = await kis_daerah.set_quota(
            session=session,
            principal=principal,
            year=year,
            places=int(places),
            now=datetime.now(UTC),
        )
        await session.commit()
    except Refusal as refusal:
        return await _settings_refused(
            request, session, runtime, principal, refusal.message, refusal.status_code
        )
    return _settings_done(f"Kuota KIS Daerah {use.year}: {use.places} tempat.")
