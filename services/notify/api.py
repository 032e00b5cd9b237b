"""Notify's HTTP API: the messages sent about a case."""

from uuid import UUID

from fastapi import APIRouter

from services.notify import service
from services.notify.models import NotificationPublic
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationPublic])
async def list_notifications(case_id: UUID, session: SessionDep) -> list[NotificationPublic]:
    """Every message sent about one case, oldest first."""
    found = await service.notifications_of_case(session=session, case_id=case_id)
    return [NotificationPublic.model_validate(n, from_attributes=True) for n in found]
