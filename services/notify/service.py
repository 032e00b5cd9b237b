"""Notify's use cases: remember whom to tell, tell them, list what was sent."""

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notify.channels import Channel
from services.notify.domain import compose
from services.notify.models import Notification, Recipient
from shared.auth import service_actor
from shared.contracts import CaseRegistered, Event, NotificationSent
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


async def notify(*, session: AsyncSession, event: Event, channel: Channel) -> Notification:
    """Tell the citizen (or, without a phone, their village office) about `event`."""
    recipient = await session.get(Recipient, event.case_id)
    if recipient is None:
        # case.registered is consumed separately and may not be applied yet: retry later.
        raise LookupError(f"recipient of case {event.case_id} not known yet")
    kind = "citizen" if recipient.phone else "village_office"
    notification = Notification(
        source_event_id=event.event_id,
        case_id=event.case_id,
        about_event=event.type,
        recipient_kind=kind,
        channel=channel.name,
        body=compose(event, registration_number=recipient.registration_number),
    )
    session.add(notification)
    await session.flush()  # the unique constraint refuses a second message before delivery
    await channel.deliver(
        to=recipient.phone or f"kantor-desa:{recipient.desa_code}", body=notification.body
    )
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


async def notifications_of_case(*, session: AsyncSession, case_id: UUID) -> list[Notification]:
    query = select(Notification).where(Notification.case_id == case_id)
    return list((await session.exec(query.order_by(col(Notification.created_at)))).all())
