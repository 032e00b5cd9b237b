"""Referral's use cases: refer a verified case, list a case's referrals."""

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.referral.domain import route
from services.referral.models import Referral
from shared.auth import service_actor
from shared.contracts import CaseVerified, ReferralCreated
from shared.outbox import add_event


async def refer_case(*, session: AsyncSession, verified: CaseVerified) -> Referral:
    """Create the referral the routing rules choose and stage `referral.created`."""
    destination = route(verified.category, identity_consistent=verified.identity_consistent)
    referral = Referral(
        case_id=verified.case_id,
        source_event_id=verified.event_id,
        desa_code=verified.area.desa,
        category=verified.category.value,
        urgent=verified.urgent,
        destination=destination.code,
    )
    session.add(referral)
    add_event(
        session,
        ReferralCreated(
            case_id=verified.case_id,
            area=verified.area,
            trace_id=verified.trace_id,
            actor=service_actor("referral", verified.area.kabupaten),
            referral_id=referral.id,
            destination=destination.code,
            destination_name=destination.name,
        ),
    )
    return referral


async def referrals_of_case(*, session: AsyncSession, case_id: UUID) -> list[Referral]:
    query = select(Referral).where(Referral.case_id == case_id).order_by(col(Referral.created_at))
    return list((await session.exec(query)).all())
