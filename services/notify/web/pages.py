"""The secretariat's pages in notify: every message (what the demo's citizens received),
the failed ones to follow up, and the district's message templates.

Server-rendered, one request a page; the forms call the same service functions as the API.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.notify import service
from services.notify.accounts import can_edit
from services.notify.api import SESSION_COOKIE, require_editor, require_reader, template_table
from services.notify.delivery import NotifyDep
from services.notify.messages import KINDS, TemplateProblem
from services.notify.models import TemplatePublic
from shared import accounts
from shared.areas import WIB
from shared.auth import Principal
from shared.db import as_utc
from shared.runtime import SessionDep
from shared.web import page_principal, service_templates, sign_in_pages

templates = service_templates(Path(__file__).with_name("templates"))
router = APIRouter(include_in_schema=False)
sign_in = sign_in_pages(templates, cookie_name=SESSION_COOKIE, home="/pesan")
PageUser = Annotated[Principal, Depends(page_principal(SESSION_COOKIE))]

STATUSES = {
    "pending": "Menunggu",
    "sending": "Sedang dikirim",
    "sent": "Terkirim",
    "delivered": "Diterima",
    "failed": "Gagal",
}
RECIPIENTS = {"citizen": "warga", "village_office": "kantor desa", "officer": "petugas"}
CHANNELS = {
    "semua": "Semua saluran",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "email": "E-mail",
    "kotak_pesan": "Kotak pesan",
}


def _local(moment: datetime) -> str:
    return as_utc(moment).astimezone(WIB).strftime("%d-%m-%Y %H:%M")


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/pesan", status_code=303)


@router.get("/pesan")
async def messages_page(
    request: Request,
    session: SessionDep,
    principal: PageUser,
    notify: NotifyDep,
    status: str = "",
    selesai: str = "",
) -> HTMLResponse:
    require_reader(principal)
    chosen = status if status in STATUSES else None
    found = await service.recent_notifications(session=session, status=chosen)
    accounts.audit(
        session=session,
        principal=principal,
        action="read_notifications",
        purpose=f"daftar pesan {chosen or 'semua'}",
    )
    await session.commit()
    quiet = notify.quiet
    context = {
        "principal": principal,
        "notifications": found,
        "counts": await service.count_by_status(session=session),
        "statuses": STATUSES,
        "status": chosen,
        "recipients": RECIPIENTS,
        "heading": "Pesan gagal terkirim"
        if chosen == "failed"
        else "Pesan kepada warga dan petugas",
        "quiet": f"{quiet.start:%H:%M}–{quiet.end:%H:%M}",
        "local": _local,
        "done": selesai[:200],
    }
    return templates.TemplateResponse(request, "messages.html", context)


@router.post("/pesan/{notification_id}/kirim-ulang")
async def resend(
    notification_id: UUID, session: SessionDep, principal: PageUser, notify: NotifyDep
) -> RedirectResponse:
    require_reader(principal)
    try:
        await service.resend(
            session=session,
            notification_id=notification_id,
            now=notify.clock(),
            principal=principal,
        )
    except (LookupError, ValueError):
        done = "Pesan itu tidak dapat dikirim ulang (tidak ada atau tidak gagal)."
    else:
        await session.commit()
        notify.wake()
        done = "Pesan dimasukkan lagi ke antrean kirim."
    return RedirectResponse("/pesan?" + urlencode({"selesai": done}), status_code=303)


@router.get("/templat")
async def templates_page(
    request: Request, session: SessionDep, principal: PageUser, selesai: str = ""
) -> HTMLResponse:
    require_reader(principal)
    return await _templates(request, session, principal, done=selesai[:200])


async def _templates(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    status_code: int = 200,
    done: str = "",
    error: str = "",
    error_kind: str = "",
    drafts: dict[str, str] | None = None,
) -> HTMLResponse:
    by_kind: dict[str, list[TemplatePublic]] = {}
    for row in await template_table(session):
        by_kind.setdefault(row.kind, []).append(row)
    context = {
        "principal": principal,
        "kinds": list(by_kind.items()),
        "channels": CHANNELS,
        "can_edit": can_edit(principal),
        "done": done,
        "error": error,
        "error_kind": error_kind,
        "drafts": drafts or {},
    }
    return templates.TemplateResponse(request, "templates.html", context, status_code=status_code)


@router.post("/templat/{kind}", response_model=None)
async def save_template(
    request: Request,
    kind: str,
    session: SessionDep,
    principal: PageUser,
    notify: NotifyDep,
    channel: Annotated[str, Form()],
    body: Annotated[str, Form(max_length=1000)],
) -> Response:
    require_editor(principal)
    if kind not in KINDS or channel not in CHANNELS:
        return await _templates(
            request, session, principal, status_code=404, error="Templat tidak dikenal."
        )
    try:
        await service.save_template(
            session=session,
            kind=kind,
            channel=channel,
            body=body,
            principal=principal,
            now=notify.clock(),
        )
    except TemplateProblem as exc:
        await session.rollback()
        return await _templates(
            request,
            session,
            principal,
            status_code=422,
            error=str(exc),
            error_kind=kind,
            drafts={kind: body},
        )
    await session.commit()
    done = f"Templat “{KINDS[kind].label}” untuk {CHANNELS[channel]} disimpan."
    return RedirectResponse("/templat?" + urlencode({"selesai": done}), status_code=303)


@router.post("/templat/{kind}/{channel}/hapus")
async def reset_template(
    kind: str, channel: str, session: SessionDep, principal: PageUser
) -> RedirectResponse:
    require_editor(principal)
    await service.reset_template(session=session, kind=kind, channel=channel, principal=principal)
    await session.commit()
    done = "Teks dikembalikan."
    return RedirectResponse("/templat?" + urlencode({"selesai": done}), status_code=303)
