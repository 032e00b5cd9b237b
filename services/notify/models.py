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
    encoding: str = "GSM-7"
    segments: int = 1
    status: str = "sent"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class OptOut(SQLModel, table=True):
    """A phone number whose owner replied STOP/BERHENTI: no more messages to it."""

    __tablename__ = "opt_out"

    phone: str = Field(primary_key=True)
    keyword: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class InboundSms(SQLModel):
    """A reply the SMS gateway forwards to us."""

    sender: str = Field(alias="from", max_length=32)
    text: str = Field(max_length=1600)


class InboundResult(SQLModel):
    intent: str | None = Field(description="opt_out, opt_in, or null for any other reply")


class NotificationPublic(SQLModel):
    id: UUID
    case_id: UUID
    about_event: str
    recipient_kind: str
    channel: str
    body: str
    encoding: str
    segments: int
    status: str
    created_at: datetime


TABLES = [Recipient.__table__, Notification.__table__, OptOut.__table__]  # type: ignore[attr-defined]
