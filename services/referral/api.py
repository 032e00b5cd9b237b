"""Referral's HTTP API: a case's referrals."""

from uuid import UUID

from fastapi import APIRouter

from services.referral import service
from services.referral.models import ReferralPublic
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/referrals", tags=["referrals"])


@router.get("", response_model=list[ReferralPublic])
async def list_referrals(case_id: UUID, session: SessionDep) -> list[ReferralPublic]:
    """The referrals made for one case."""
    found = await service.referrals_of_case(session=session, case_id=case_id)
    return [ReferralPublic.model_validate(r, from_attributes=True) for r in found]
