"""Verval verifies every case intake registers."""

from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import service
from shared.consumer import subscribe
from shared.contracts import CaseRegistered
from shared.runtime import ServiceRuntime


async def on_case_registered(session: AsyncSession, event: CaseRegistered) -> None:
    await service.verify_case(session=session, registered=event)


def subscribe_all(runtime: ServiceRuntime) -> None:
    subscribe(
        runtime.broker,
        service="verval",
        event=CaseRegistered,
        sessions=runtime.sessions,
        apply=on_case_registered,
        after_commit=runtime.relay.wake,
    )
