"""Notify's HTTP API: the messages about a case, failed ones sent again, the district's
templates, and the gateways' webhooks (citizens' replies and delivery receipts).

People sign in (the secretariat reads messages; the head and admin edit templates; every
read and change is audited); gateways prove themselves with a shared token instead.
"""

import contextlib
import hashlib
import hmac
import json
import secrets
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse

from services.notify import service
from services.notify.accounts import can_edit, can_read
from services.notify.delivery import NotifyDep
from services.notify.domain import CHANNELS
from services.notify.messages import KINDS, TemplateProblem, check_template, sms_parts
from services.notify.models import (
    DeliveryReceipt,
    InboundResult,
    InboundSms,
    Notification,
    NotificationPublic,
    ReceiptResult,
    TemplateIn,
    TemplatePublic,
)
from services.notify.service import ALL_CHANNELS
from shared import accounts
from shared.accounts import LoginIn, LoginOut
from shared.auth import Principal
from shared.errors import Refusal, field_refusal
from shared.identity import PhoneError
from shared.runtime import SessionDep

SESSION_COOKIE = "slrt_notify_session"
router = APIRouter(prefix="/api", tags=["notifications"])
CurrentUser = Annotated[Principal, Depends(accounts.api_principal(SESSION_COOKIE))]
TemplateChannel = Literal["semua", "sms", "whatsapp", "email", "kotak_pesan"]


@router.post("/login", response_model=LoginOut)
async def login(data: LoginIn, session: SessionDep, response: Response) -> LoginOut:
    """Sign in; the token works as `Authorization: Bearer` and is also set as a cookie."""
    return await accounts.api_login(
        session=session, data=data, response=response, cookie_name=SESSION_COOKIE
    )


def require_reader(principal: Principal) -> None:
    if not can_read(principal):
        raise Refusal(403, "Hanya sekretariat SLRT yang dapat membaca pesan warga.")


def require_editor(principal: Principal) -> None:
    if not can_edit(principal):
        raise Refusal(403, "Hanya kepala sekretariat dan admin yang dapat mengubah templat pesan.")


@router.get("/notifications", response_model=list[NotificationPublic])
async def list_notifications(
    session: SessionDep,
    principal: CurrentUser,
    case_id: UUID | None = None,
    status: Literal["pending", "sending", "sent", "delivered", "failed"] | None = None,
) -> list[Notification]:
    """Every message about one case (oldest first), or the newest messages of a status
    (`status=failed`: what the secretariat must follow up)."""
    require_reader(principal)
    if case_id is not None:
        accounts.audit(
            session=session,
            principal=principal,
            action="read_notifications",
            purpose="pesan tentang kasus",
            case_id=case_id,
        )
        found = await service.notifications_of_case(session=session, case_id=case_id)
    else:
        found = await service.recent_notifications(session=session, status=status)
    await session.commit()
    return found


@router.post("/notifications/{notification_id}/resend", response_model=NotificationPublic)
async def resend(
    notification_id: UUID, session: SessionDep, principal: CurrentUser, notify: NotifyDep
) -> Notification:
    """Queue a failed message again (after the number or address was checked)."""
    require_reader(principal)
    try:
        n = await service.resend(
            session=session,
            notification_id=notification_id,
            now=notify.clock(),
            principal=principal,
        )
    except LookupError:
        raise Refusal(404, "Pesan tidak ditemukan.") from None
    except ValueError as exc:
        raise Refusal(409, str(exc)) from None
    await session.commit()
    notify.wake()
    return n


@router.get("/templates", response_model=list[TemplatePublic])
async def templates(session: SessionDep, principal: CurrentUser) -> list[TemplatePublic]:
    """Every kind of message with its text for every channel ("semua"), each channel's own
    text where the district wrote one, and an example with its SMS count."""
    require_reader(principal)
    return await template_table(session)


async def template_table(session: SessionDep) -> list[TemplatePublic]:
    """For every kind: the text for every channel, and each channel's own text if it has one."""
    own = await service.district_templates(session=session)
    rows = []
    for kind, spec in KINDS.items():
        for channel in (ALL_CHANNELS, *CHANNELS):
            customised = (kind, channel) in own
            if channel != ALL_CHANNELS and not customised:
                continue
            body = own.get((kind, channel)) or own.get((kind, ALL_CHANNELS)) or spec.default
            example = check_template(kind, body)
            rows.append(
                TemplatePublic(
                    kind=kind,
                    label=spec.label,
                    channel=channel,
                    values=list(spec.values),
                    body=body,
                    customised=customised,
                    example=example,
                    sms_segments=sms_parts(example).segments,
                )
            )
    return rows


@router.put("/templates/{kind}/{channel}", response_model=TemplatePublic)
async def change_template(
    kind: str,
    channel: TemplateChannel,
    data: TemplateIn,
    session: SessionDep,
    principal: CurrentUser,
    notify: NotifyDep,
) -> TemplatePublic:
    """Replace the text of one kind of message on one channel ("semua": every channel)."""
    require_editor(principal)
    if kind not in KINDS:
        raise Refusal(404, f"Jenis pesan tidak dikenal: {kind}.")
    try:
        await service.save_template(
            session=session,
            kind=kind,
            channel=channel,
            body=data.body,
            principal=principal,
            now=notify.clock(),
        )
    except TemplateProblem as exc:
        raise field_refusal("body", str(exc)) from None
    await session.commit()
    return next(t for t in await template_table(session) if (t.kind, t.channel) == (kind, channel))


@router.delete("/templates/{kind}/{channel}", status_code=204)
async def reset_template(
    kind: str, channel: TemplateChannel, session: SessionDep, principal: CurrentUser
) -> None:
    """Go back to the built-in text (or the every-channel text) for this kind and channel."""
    require_editor(principal)
    await service.reset_template(session=session, kind=kind, channel=channel, principal=principal)
    await session.commit()


def require_gateway(notify: NotifyDep, token: str | None) -> None:
    expected = notify.settings.gateway_token
    if not expected:
        raise Refusal(503, "Webhook gateway belum dikonfigurasi (SLRT_NOTIFY_GATEWAY_TOKEN).")
    if not token or not secrets.compare_digest(token, expected):
        raise Refusal(401, "Token gateway salah.")


GatewayToken = Annotated[str | None, Header(alias="X-Gateway-Token")]


@router.post("/notifications/sms/inbound", response_model=InboundResult)
async def inbound_sms(
    reply: InboundSms, session: SessionDep, notify: NotifyDep, token: GatewayToken = None
) -> InboundResult:
    """Webhook for the SMS gateway: a citizen's reply (STOP/BERHENTI stops all messages)."""
    require_gateway(notify, token)
    try:
        intent = await service.record_reply(session=session, sender=reply.sender, text=reply.text)
    except PhoneError as exc:
        raise field_refusal("from", str(exc)) from None
    return InboundResult(intent=intent)


@router.post("/notifications/sms/receipts", response_model=ReceiptResult)
async def sms_receipt(
    receipt: DeliveryReceipt, session: SessionDep, notify: NotifyDep, token: GatewayToken = None
) -> ReceiptResult:
    """Webhook for the SMS gateway's delivery reports, by our reference or its message id."""
    require_gateway(notify, token)
    if receipt.reference is None and not receipt.provider_id:
        raise field_refusal("reference", "sebutkan reference atau provider_id")
    updated = await service.record_receipt(
        session=session,
        reference=receipt.reference,
        provider_id=receipt.provider_id,
        delivered=receipt.status == "delivered",
        error=receipt.error,
        now=notify.clock(),
    )
    notify.wake()
    return ReceiptResult(updated=updated)


@router.get("/notifications/whatsapp/webhook", response_class=PlainTextResponse)
async def whatsapp_verify(
    notify: NotifyDep,
    mode: Annotated[str, Query(alias="hub.mode")] = "",
    verify_token: Annotated[str, Query(alias="hub.verify_token")] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)] = "",
) -> str:
    """Meta's check when the webhook is registered: echo the challenge for our verify token."""
    expected = notify.settings.whatsapp_verify_token
    if not expected or mode != "subscribe" or not secrets.compare_digest(verify_token, expected):
        raise Refusal(403, "Token verifikasi webhook WhatsApp salah.")
    return challenge


@router.post("/notifications/whatsapp/webhook", response_model=ReceiptResult)
async def whatsapp_statuses(
    request: Request,
    session: SessionDep,
    notify: NotifyDep,
    signature: Annotated[str, Header(alias="X-Hub-Signature-256")] = "",
) -> ReceiptResult:
    """WhatsApp Cloud API webhook, signed by Meta with the app secret. Statuses
    (`entry[].changes[].value.statuses[]`): delivered and read mark the message delivered,
    failed makes it failed. Citizens' messages (`value.messages[]`): STOP/BERHENTI and
    MULAI/START work as they do by SMS."""
    secret = notify.settings.whatsapp_app_secret
    if not secret:
        raise Refusal(
            503, "Webhook WhatsApp belum dikonfigurasi (SLRT_NOTIFY_WHATSAPP_APP_SECRET)."
        )
    raw = await request.body()
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not secrets.compare_digest(signature, expected):
        raise Refusal(401, "Tanda tangan webhook WhatsApp salah.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refusal(400, "Isi webhook bukan JSON.") from None
    for reply in _whatsapp_values(body, "messages"):
        text = reply.get("text")
        if isinstance(text, dict) and isinstance(text.get("body"), str):
            with contextlib.suppress(PhoneError):  # a sender we cannot read is ignored
                await service.record_reply(
                    session=session, sender=str(reply.get("from", "")), text=text["body"]
                )
    updated = 0
    for status in _whatsapp_values(body, "statuses"):
        if status.get("status") not in ("delivered", "read", "failed"):
            continue
        first_error = next(iter(_list(status, "errors")), None)
        title = first_error.get("title") if isinstance(first_error, dict) else None
        updated += await service.record_receipt(
            session=session,
            reference=None,
            provider_id=str(status.get("id", "")),
            delivered=status["status"] != "failed",
            error=str(title) if title else None,
            now=notify.clock(),
        )
    return ReceiptResult(updated=updated)


def _whatsapp_values(body: Any, key: str) -> list[dict[str, Any]]:
    """The `statuses` or `messages` objects of a webhook body; anything not shaped like
    Meta's is skipped."""
    found: list[dict[str, Any]] = []
    for entry in _list(body, "entry"):
        for change in _list(entry, "changes"):
            value = change.get("value") if isinstance(change, dict) else None
            found += [item for item in _list(value, key) if isinstance(item, dict)]
    return found


def _list(obj: Any, key: str) -> list[Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []
