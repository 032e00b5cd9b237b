"""Referral refers every verified case."""

from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral import service
from shared.consumer import subscribe
from shared.contracts import CaseVerified
from shared.runtime import ServiceRuntime


async def on_case_verified(session: AsyncSession, event: CaseVerified) -> None:
    await service.refer_case(session=session, verified=event)


def subscribe_all(runtime: ServiceRuntime) -> None:
    subscribe(
        runtime.broker,
        service="referral",
        event=CaseVerified,
        sessions=runtime.sessions,
        apply=on_case_verified,
        after_commit=runtime.relay.wake,
    )
