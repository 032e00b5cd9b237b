"""Notify's tables and API shapes."""

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4

from sqlmodel import Field, SQLModel, UniqueConstraint

RecipientKind = Literal["citizen", "village_office"]


class Recipient(SQLModel, table=True):
    """Whom to tell about a case: learned from `case.registered`."""

    __tablename__ = "recipient"

    case_id: UUID = Field(primary_key=True)
    registration_number: str
    phone: str | None = None
    desa_code: str


class Notification(SQLModel, table=True):
    """One message about one event to one recipient on one channel; never twice."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("source_event_id", "recipient_kind", "channel"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    source_event_id: UUID
    case_id: UUID = Field(index=True)
    about_event: str
    recipient_kind: str
    channel: str
    body: str
    status: str = "sent"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class NotificationPublic(SQLModel):
    id: UUID
    case_id: UUID
    about_event: str
    recipient_kind: str
    channel: str
    body: str
    status: str
    created_at: datetime


TABLES = [Recipient.__table__, Notification.__table__]  # type: ignore[attr-defined]
