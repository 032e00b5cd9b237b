"""Referral hears what verval found and which cases the sub-districts forwarded."""

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral import service
from shared.consumer import subscribe
from shared.contracts import CaseEscalated, CaseVerified
from shared.runtime import ServiceRuntime


async def on_case_verified(session: AsyncSession, event: CaseVerified) -> None:
    await service.note_verified(session=session, verified=event, now=datetime.now(UTC))


async def on_case_escalated(session: AsyncSession, event: CaseEscalated) -> None:
    await service.note_escalated(session=session, escalated=event, now=datetime.now(UTC))


def subscribe_all(runtime: ServiceRuntime) -> None:
    for event, apply in ((CaseVerified, on_case_verified), (CaseEscalated, on_case_escalated)):
        subscribe(
            runtime.consumers,
            service="referral",
            event=event,
            sessions=runtime.sessions,
            apply=apply,  # type: ignore[arg-type]
            after_commit=runtime.relay.wake,
        )
