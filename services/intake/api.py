"""Intake's HTTP API: register a case, show a case with its timeline."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response
from sqlalchemy.exc import IntegrityError

from services.intake import service
from services.intake.domain import STATUS_LABELS, CaseStatus
from services.intake.models import Case, CaseCreate, CaseCreated, CasePublic
from shared.auth import front_office_of
from shared.errors import Refusal
from shared.logging import current_trace_id
from shared.runtime import RuntimeDep, SessionDep

router = APIRouter(prefix="/api/cases", tags=["cases"])


def _created(case: Case) -> CaseCreated:
    return CaseCreated(
        id=case.id,
        registration_number=case.registration_number,
        status=case.status,
        status_label=STATUS_LABELS[CaseStatus(case.status)],
        url=f"/api/cases/{case.id}",
    )


@router.post("", status_code=201, response_model=CaseCreated)
async def register_case(
    data: CaseCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CaseCreated:
    """Register a citizen's case; a repeated `Idempotency-Key` returns the first case (200)."""
    if idempotency_key and (
        earlier := await service.find_by_idempotency_key(session=session, key=idempotency_key)
    ):
        response.status_code = 200
        return _created(earlier)
    try:
        case = await service.register_case(
            session=session,
            data=data,
            areas=runtime.areas,
            actor=front_office_of(data.desa_code),
            trace_id=current_trace_id(),
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        # The same key submitted twice at once: the other request saved the case.
        await session.rollback()
        if idempotency_key and (
            earlier := await service.find_by_idempotency_key(session=session, key=idempotency_key)
        ):
            response.status_code = 200
            return _created(earlier)
        raise
    runtime.relay.wake()
    return _created(case)


@router.get("/{case_id}", response_model=CasePublic)
async def get_case(case_id: UUID, session: SessionDep) -> CasePublic:
    """A case's status and the timeline of what every service did with it."""
    found = await service.get_case(session=session, case_id=case_id)
    if found is None:
        raise Refusal(404, "Kasus tidak ditemukan")
    return CasePublic.of(*found)
