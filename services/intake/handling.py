"""Use cases of the village's handling of a case: act on it and record who, when and why.

Each action moves the case between queues (see workflow.py), adds a timeline step, is
audited, and raises the event others react to, all in one transaction.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.models import Case, CaseAction, TimelineEntry
from services.intake.service import case_in_scope
from services.intake.workflow import MOVES, Action, Stage, TransitionRefused, move
from shared.accounts import audit
from shared.areas import DesaPath
from shared.auth import Principal
from shared.contracts import (
    AreaCodes,
    CaseEscalated,
    CaseResolvedLocally,
    CaseReturned,
    Category,
    Event,
)
from shared.errors import Refusal
from shared.outbox import add_event

REFUSAL_STATUS = {"role": 403, "stage": 409, "input": 422}


async def act_on_case(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: UUID,
    command: CaseAction,
    trace_id: str,
) -> Case:
    """Apply an operator's action to a case of their area, or refuse it with the reason."""
    case, _ = await case_in_scope(session=session, principal=principal, case_id=case_id)
    try:
        target = move(
            Stage(case.stage),
            command.action,
            principal.role,
            reason=command.reason,
            resolution=command.resolution,
        )
    except TransitionRefused as refused:
        raise Refusal(REFUSAL_STATUS[refused.why], str(refused)) from None
    now = datetime.now(UTC)
    case.stage, case.updated_at = target.value, now
    session.add(case)
    event = _event_for(case, command, principal, trace_id)
    if event is not None:
        add_event(session, event)
    session.add(
        TimelineEntry(
            case_id=case.id,
            at=now,
            service="intake",
            step=MOVES[command.action].step,
            note=command.reason.strip() or "-",
            actor=principal.username,
            event_id=event.event_id if event else None,
        )
    )
    audit(
        session=session,
        principal=principal,
        action=command.action.value,
        purpose=command.reason.strip() or command.action.value,
        case_id=case.id,
    )
    await session.commit()
    return case


def _event_for(
    case: Case, command: CaseAction, principal: Principal, trace_id: str
) -> Event | None:
    """The event an action raises; a proposal waiting for the coordinator raises none."""
    envelope = {
        "case_id": case.id,
        "area": AreaCodes.of(DesaPath.of(case.desa_code)),
        "trace_id": trace_id,
        "actor": principal.actor(),
    }
    reason = command.reason.strip()
    if command.action is Action.RESOLVE_LOCALLY:
        assert command.resolution is not None  # move() refuses the action without one
        return CaseResolvedLocally(**envelope, resolution=command.resolution.value, note=reason)
    if command.action in (Action.APPROVE, Action.FORWARD):
        level = "kecamatan" if command.action is Action.APPROVE else "kabupaten"
        return CaseEscalated(
            **envelope,
            level=level,
            reason=reason or "disetujui koordinator desa",
            category=Category(case.category),
            urgent=case.urgent,
            consent_to_share=case.consent_to_share,
            registration_number=case.registration_number,
        )
    if command.action in (Action.SEND_BACK, Action.RETURN_TO_VILLAGE):
        return CaseReturned(**envelope, note=reason)
    return None
