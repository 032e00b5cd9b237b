"""Verval verifies every case intake registers and answers the desk's pre-checks."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval import service
from shared.areas import WIB
from shared.consumer import subscribe
from shared.contracts import (
    PRECHECK_SUBJECT,
    CaseRegistered,
    CaseUpdated,
    PrecheckReply,
    PrecheckRequest,
)
from shared.responder import Responder
from shared.runtime import ServiceRuntime


async def on_case(session: AsyncSession, event: CaseRegistered | CaseUpdated) -> None:
    """A new case, or one whose identity the village corrected: check it (again)."""
    today = datetime.now(WIB).date()
    await service.verify_case(session=session, registered=event, today=today)


def answer_prechecks(runtime: ServiceRuntime) -> None:
    """Reply on PRECHECK_SUBJECT (core NATS, a queue group so instances share the load)."""

    async def on_precheck(request: PrecheckRequest) -> PrecheckReply:
        async with runtime.sessions() as session:
            today = datetime.now(WIB).date()
            return await service.precheck(session=session, request=request, today=today)

    runtime.consumers.responders.append(
        Responder(PRECHECK_SUBJECT, "verval", PrecheckRequest, on_precheck)
    )


def subscribe_all(runtime: ServiceRuntime) -> None:
    answer_prechecks(runtime)
    for event in (CaseRegistered, CaseUpdated):
        subscribe(
            runtime.consumers,
            service="verval",
            event=event,
            sessions=runtime.sessions,
            apply=on_case,  # type: ignore[arg-type]
            after_commit=runtime.relay.wake,
        )
