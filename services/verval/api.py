"""Verval's HTTP API: the verdict on a case."""

from uuid import UUID

from fastapi import APIRouter

from services.verval import service
from services.verval.models import VerificationPublic
from shared.errors import Refusal
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/verifications", tags=["verifications"])


@router.get("/{case_id}", response_model=VerificationPublic)
async def get_verification(case_id: UUID, session: SessionDep) -> VerificationPublic:
    """The latest verdict on a case."""
    found = await service.latest_verification(session=session, case_id=case_id)
    if found is None:
        raise Refusal(404, "Belum ada hasil verifikasi untuk kasus ini")
    return VerificationPublic(
        case_id=found.case_id,
        identity_consistent=found.identity_consistent,
        findings=found.findings,
        created_at=found.created_at,
    )
