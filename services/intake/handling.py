"""Use cases of the village's handling of a case: act on it and record who, when and why.

Each action moves the case between queues (see workflow.py), adds a timeline step, is
audited, and raises the event others react to, all in one transaction.
"""

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.models import Case, CaseAction, TimelineEntry, VillageRule
from services.intake.service import case_in_scope
from services.intake.workflow import MOVES, Action, Stage, TransitionRefused, move
from shared.accounts import audit
from shared.auth import Principal, Role
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
    rule = await session.get(VillageRule, case.desa_code)
    source = Stage(case.stage)
    try:
        target = move(
            source,
            command.action,
            principal.role,
            reason=command.reason,
            resolution=command.resolution,
            consent=case.may_share(),
            head_signs=rule is not None and rule.head_signs,
        )
    except TransitionRefused as refused:
        raise Refusal(REFUSAL_STATUS[refused.why], str(refused)) from None
    now = datetime.now(UTC)
    case.stage, case.updated_at = target.value, now
    if command.action is Action.OVERRIDE_CONSENT:
        case.consent_override_by = principal.username
        case.consent_override_reason = command.reason.strip()
        case.consent_override_at = now
    session.add(case)
    event = _event_for(case, command, (source, target), principal, trace_id)
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
    case: Case,
    command: CaseAction,
    moved: tuple[Stage, Stage],
    principal: Principal,
    trace_id: str,
) -> Event | None:
    """The event an action raises: leaving the village or the sub-district escalates, coming
    back returns. None for a step inside the village, and for a consent override (the
    forward that follows carries it)."""
    envelope = {
        "case_id": case.id,
        "area": AreaCodes.of_desa(case.desa_code),
        "trace_id": trace_id,
        "actor": principal.actor(),
    }
    reason = command.reason.strip()
    source, target = moved
    if command.action is Action.RESOLVE_LOCALLY:
        assert command.resolution is not None  # move() refuses the action without one
        return CaseResolvedLocally(**envelope, resolution=command.resolution.value, note=reason)
    if target in (Stage.SUPERVISOR, Stage.DISTRICT) and target is not source:
        level = "kecamatan" if target is Stage.SUPERVISOR else "kabupaten"
        return CaseEscalated(
            **envelope,
            level=level,
            reason=reason or "disetujui desa",
            category=Category(case.category),
            urgent=case.urgent,
            consent_to_share=case.may_share(),
            registration_number=case.registration_number,
        )
    if target is Stage.VILLAGE:
        return CaseReturned(**envelope, note=reason)
    return None


async def village_rule(*, session: AsyncSession, desa_code: str) -> VillageRule:
    found = await session.get(VillageRule, desa_code)
    return found or VillageRule(desa_code=desa_code, head_signs=False, updated_by="-")


async def set_village_rule(
    *, session: AsyncSession, principal: Principal, desa_code: str, head_signs: bool
) -> VillageRule:
    """The desa's coordinator (or the district admin) decides whether its head signs."""
    if principal.role not in (Role.COORDINATOR, Role.ADMIN) or not principal.covers(desa_code):
        raise Refusal(403, "Hanya koordinator desa itu atau admin yang dapat mengubah aturan ini.")
    rule = await session.get(VillageRule, desa_code)
    if rule is None:
        rule = VillageRule(desa_code=desa_code, updated_by=principal.username)
    rule.head_signs, rule.updated_by, rule.updated_at = (
        head_signs,
        principal.username,
        datetime.now(UTC),
    )
    session.add(rule)
    audit(
        session=session,
        principal=principal,
        action="aturan_desa",
        purpose=f"kepala desa {'ikut' if head_signs else 'tidak ikut'} menyetujui ({desa_code})",
    )
    await session.commit()
    return rule
