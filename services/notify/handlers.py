"""Notify tells the citizen each step of their case, and the secretariat head what is late."""

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notify import service
from services.notify.channels import Channel, LocalFileChannel
from services.notify.settings import Settings
from shared.consumer import subscribe
from shared.contracts import (
    CaseClosed,
    CaseRegistered,
    CaseVerified,
    Event,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
)
from shared.runtime import ServiceRuntime


def subscribe_all(runtime: ServiceRuntime) -> None:
    channel: Channel = LocalFileChannel(runtime.settings.var_dir / "notify" / "messages.jsonl")

    async def on_case_registered(session: AsyncSession, event: CaseRegistered) -> None:
        await service.remember_recipient(session=session, registered=event)
        await service.notify(session=session, event=event, channel=channel)

    async def on_update(session: AsyncSession, event: Event) -> None:
        await service.notify(session=session, event=event, channel=channel)

    subscribe(
        runtime.broker,
        service="notify",
        event=CaseRegistered,
        sessions=runtime.sessions,
        apply=on_case_registered,
        after_commit=runtime.relay.wake,
    )
    settings = runtime.settings
    address = settings.officer_address if isinstance(settings, Settings) else "kepala-sekretariat"

    async def on_overdue(session: AsyncSession, event: ReferralOverdue) -> None:
        await service.tell_officer(session=session, event=event, channel=channel, address=address)

    subscribe(
        runtime.broker,
        service="notify",
        event=ReferralOverdue,
        sessions=runtime.sessions,
        apply=on_overdue,
        after_commit=runtime.relay.wake,
    )
    for event in (CaseVerified, ReferralCreated, ReferralUpdated, CaseClosed):
        subscribe(
            runtime.broker,
            service="notify",
            event=event,
            sessions=runtime.sessions,
            apply=on_update,
            after_commit=runtime.relay.wake,
        )
