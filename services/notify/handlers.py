"""Notify hears each step of a case and queues what the citizen, or an officer who must act
(the supervisor or secretariat for an escalation, the head for overdue work), should hear."""

from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notify import service
from services.notify.service import Timing
from shared.consumer import subscribe
from shared.contracts import (
    CaseClosed,
    CaseContactChanged,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    CaseVerified,
    Event,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
)
from shared.runtime import ServiceRuntime


def subscribe_all(
    runtime: ServiceRuntime,
    *,
    timing: Callable[[], Timing],
    officer_address: str,
    queued: Callable[[], None],
) -> None:
    """Bind notify's consumers; `queued` wakes the dispatcher after a message was queued."""

    async def on_case_registered(session: AsyncSession, event: CaseRegistered) -> None:
        recipient = await service.remember_recipient(session=session, registered=event)
        await service.notify(session=session, event=event, timing=timing(), recipient=recipient)

    async def on_update(session: AsyncSession, event: Event) -> None:
        await service.notify(session=session, event=event, timing=timing())

    async def on_overdue(session: AsyncSession, event: ReferralOverdue) -> None:
        await service.tell_officer(
            session=session, event=event, address=officer_address, timing=timing()
        )

    async def on_escalated(session: AsyncSession, event: CaseEscalated) -> None:
        await service.tell_next_level(session=session, event=event, timing=timing())

    async def on_contact_changed(session: AsyncSession, event: CaseContactChanged) -> None:
        await service.change_contact(session=session, event=event)

    handlers: list[tuple[type[Event], Callable[..., object]]] = [
        (CaseContactChanged, on_contact_changed),
        (CaseRegistered, on_case_registered),
        (ReferralOverdue, on_overdue),
        (CaseEscalated, on_escalated),
        *(
            (event, on_update)
            for event in (CaseVerified, ReferralCreated, ReferralUpdated, CaseClosed, CaseReopened)
        ),
    ]
    for event, apply in handlers:
        subscribe(
            runtime.consumers,
            service="notify",
            event=event,
            sessions=runtime.sessions,
            apply=apply,  # type: ignore[arg-type]
            after_commit=queued,
        )
