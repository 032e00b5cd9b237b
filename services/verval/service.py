"""Verval's use cases: verify a registered case and publish the verdict."""

import json
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.verval.domain import assess_identity
from services.verval.models import Verification
from shared.auth import service_actor
from shared.contracts import CaseRegistered, CaseVerified
from shared.outbox import add_event


async def verify_case(*, session: AsyncSession, registered: CaseRegistered) -> Verification:
    """Check the case's identity, store the verdict and stage `case.verified`."""
    assessment = assess_identity(registered.person, kabupaten_code=registered.area.kabupaten)
    verification = Verification(
        case_id=registered.case_id,
        source_event_id=registered.event_id,
        desa_code=registered.area.desa,
        identity_consistent=assessment.identity_consistent,
        findings_json=json.dumps(assessment.findings),
    )
    session.add(verification)
    add_event(
        session,
        CaseVerified(
            case_id=registered.case_id,
            area=registered.area,
            trace_id=registered.trace_id,
            actor=service_actor("verval", registered.area.kabupaten),
            category=registered.category,
            urgent=registered.urgent,
            consent_to_share=registered.consent_to_share,
            identity_consistent=assessment.identity_consistent,
            findings=assessment.findings,
            registration_number=registered.registration_number,
        ),
    )
    return verification


async def latest_verification(*, session: AsyncSession, case_id: UUID) -> Verification | None:
    query = (
        select(Verification)
        .where(Verification.case_id == case_id)
        .order_by(col(Verification.created_at).desc())
    )
    return (await session.exec(query)).first()
