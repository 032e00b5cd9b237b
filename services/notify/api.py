"""Notify's HTTP API: the messages sent about a case."""

import secrets
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header

from services.notify import service
from services.notify.models import InboundResult, InboundSms, NotificationPublic
from shared.errors import Refusal, field_refusal
from shared.identity import PhoneError
from shared.runtime import RuntimeDep, SessionDep

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.post("/sms/inbound", status_code=200, response_model=InboundResult)
async def inbound_sms(
    reply: InboundSms,
    session: SessionDep,
    runtime: RuntimeDep,
    x_gateway_token: Annotated[str | None, Header()] = None,
) -> InboundResult:
    """Webhook for the SMS gateway: a citizen's reply (STOP/BERHENTI stops all messages)."""
    expected = getattr(runtime.settings, "gateway_token", None)
    if not expected:
        raise Refusal(503, "Webhook SMS belum dikonfigurasi (SLRT_NOTIFY_GATEWAY_TOKEN).")
    if not x_gateway_token or not secrets.compare_digest(x_gateway_token, expected):
        raise Refusal(401, "Token gateway salah.")
    try:
        intent = await service.record_reply(session=session, sender=reply.sender, text=reply.text)
    except PhoneError as exc:
        raise field_refusal("from", str(exc)) from None
    return InboundResult(intent=intent)


@router.get("", response_model=list[NotificationPublic])
async def list_notifications(case_id: UUID, session: SessionDep) -> list[NotificationPublic]:
    """Every message sent about one case, oldest first."""
    found = await service.notifications_of_case(session=session, case_id=case_id)
    return [NotificationPublic.model_validate(n, from_attributes=True) for n in found]
