"""Notify's use cases: remember whom to tell, tell them, list what was sent."""

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notify.channels import Channel
from services.notify.domain import (
    COMES_AFTER,
    compose,
    compose_overdue,
    reply_intent,
    sms_parts,
)
from services.notify.models import Notification, OptOut, Recipient
from shared.auth import service_actor
from shared.consumer import NotYet
from shared.contracts import CaseRegistered, Event, NotificationSent, ReferralOverdue
from shared.identity import normalise_phone
from shared.outbox import add_event


async def remember_recipient(*, session: AsyncSession, registered: CaseRegistered) -> None:
    session.add(
        Recipient(
            case_id=registered.case_id,
            registration_number=registered.registration_number,
            phone=registered.person.phone,
            desa_code=registered.area.desa,
        )
    )
    await session.flush()


async def notify(*, session: AsyncSession, event: Event, channel: Channel) -> Notification | None:
    """Tell the citizen (or, without a phone, their village office) about `event`, if it
    is something they should hear."""
    recipient = await session.get(Recipient, event.case_id)
    if recipient is None:
        # case.registered is consumed separately and may not be applied yet: retry later.
        raise NotYet(f"recipient of case {event.case_id} not known yet")
    before = COMES_AFTER.get(event.type)
    if before is not None and not await _was_told(session, event.case_id, before):
        raise NotYet(f"the message about {before} is not sent yet")
    reachable = recipient.phone and await session.get(OptOut, recipient.phone) is None
    kind = "citizen" if reachable else "village_office"
    body = compose(event, registration_number=recipient.registration_number)
    if body is None:
        return None
    # A citizen without a phone, or who opted out, is told through their village office.
    to = recipient.phone if reachable and recipient.phone else f"kantor-desa:{recipient.desa_code}"
    return await _send(session, event, channel, kind=kind, to=to, body=body)


async def tell_officer(
    *, session: AsyncSession, event: ReferralOverdue, channel: Channel, address: str
) -> Notification:
    """Escalate an overdue referral to the secretariat head, once per escalation."""
    recipient = await session.get(Recipient, event.case_id)
    number = recipient.registration_number if recipient else None
    body = compose_overdue(event, registration_number=number)
    to = f"{address}:{event.area.kabupaten}"
    return await _send(session, event, channel, kind="officer", to=to, body=body)


async def _send(
    session: AsyncSession, event: Event, channel: Channel, *, kind: str, to: str, body: str
) -> Notification:
    """Record, deliver and announce one message about `event`, at most once per recipient
    kind and channel."""
    parts = sms_parts(body)
    notification = Notification(
        source_event_id=event.event_id,
        case_id=event.case_id,
        about_event=event.type,
        recipient_kind=kind,
        channel=channel.name,
        body=body,
        encoding=parts.encoding,
        segments=parts.segments,
    )
    session.add(notification)
    await session.flush()  # the unique constraint refuses a second message before delivery
    await channel.deliver(to=to, body=body)
    add_event(
        session,
        NotificationSent(
            case_id=event.case_id,
            area=event.area,
            trace_id=event.trace_id,
            actor=service_actor("notify", event.area.kabupaten),
            notification_id=notification.id,
            about_event=event.type,
            recipient_kind=kind,
            channel=channel.name,
        ),
    )
    return notification


async def _was_told(session: AsyncSession, case_id: UUID, about_event: str) -> bool:
    query = select(Notification.id).where(
        Notification.case_id == case_id, Notification.about_event == about_event
    )
    return (await session.exec(query.limit(1))).first() is not None


async def record_reply(*, session: AsyncSession, sender: str, text: str) -> str | None:
    """Apply a citizen's SMS reply: STOP/BERHENTI opts out, START/MULAI opts back in."""
    intent = reply_intent(text)
    phone = normalise_phone(sender)
    existing = await session.get(OptOut, phone)
    if intent == "opt_out" and existing is None:
        session.add(OptOut(phone=phone, keyword=text.strip().split()[0].upper()))
    elif intent == "opt_in" and existing is not None:
        await session.delete(existing)
    await session.commit()
    return intent


async def notifications_of_case(*, session: AsyncSession, case_id: UUID) -> list[Notification]:
    query = select(Notification).where(Notification.case_id == case_id)
    return list((await session.exec(query.order_by(col(Notification.created_at)))).all())
