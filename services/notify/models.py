"""Notify's tables and API shapes."""

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4

from sqlalchemy import Table
from sqlmodel import Field, SQLModel, UniqueConstraint

from shared.accounts import ACCOUNT_TABLES
from shared.table_model import TableModel


def _now() -> datetime:
    return datetime.now(UTC)


class Recipient(TableModel, table=True):
    """Whom to tell about a case and how: learned from `case.registered`."""

    __tablename__ = "recipient"

    case_id: UUID = Field(primary_key=True)
    registration_number: str
    phone: str | None = None
    email: str | None = None
    contact: str = "sms"
    urgent: bool = False
    desa_code: str


NotificationStatus = Literal["pending", "sending", "sent", "delivered", "failed"]


class Notification(TableModel, table=True):
    """One message about one event to one recipient on one channel; never twice.

    `pending` waits for `next_attempt_at` (quiet hours, back-off); `sending` is claimed by a
    dispatcher until `claimed_until`; then `sent` (the channel accepted it), `delivered`
    (the gateway's receipt said so) or `failed`.
    """

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("source_event_id", "recipient_kind", "channel"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    source_event_id: UUID
    case_id: UUID = Field(index=True)
    about_event: str
    kind: str = ""
    recipient_kind: str
    channel: str
    to: str
    subject: str = ""
    body: str
    encoding: str = "GSM-7"
    segments: int = 1
    urgent: bool = False
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=_now, index=True)
    claimed_until: datetime | None = None
    last_error: str | None = None
    provider_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    # The envelope of the events this message raises when it is sent or has failed.
    desa_code: str = ""
    trace_id: str = ""


class OptOut(TableModel, table=True):
    """A phone number whose owner replied STOP/BERHENTI: no more messages to it."""

    __tablename__ = "opt_out"

    phone: str = Field(primary_key=True)
    keyword: str
    at: datetime = Field(default_factory=_now)


class MessageTemplate(TableModel, table=True):
    """A district's own text for one kind of message on one channel ("semua": every channel)."""

    __tablename__ = "message_template"

    kind: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    body: str
    updated_by: str
    updated_at: datetime = Field(default_factory=_now)


class InboundSms(SQLModel):
    """A reply the SMS gateway forwards to us."""

    sender: str = Field(alias="from", max_length=32)
    text: str = Field(max_length=1600)


class InboundResult(SQLModel):
    intent: str | None = Field(description="opt_out, opt_in, or null for any other reply")


class DeliveryReceipt(SQLModel):
    """The SMS gateway's delivery report: our reference (or its own id) and the outcome."""

    reference: UUID | None = None
    provider_id: str | None = Field(default=None, max_length=200)
    status: Literal["delivered", "failed"]
    error: str | None = Field(default=None, max_length=500)


class ReceiptResult(SQLModel):
    updated: int


class TemplateIn(SQLModel):
    body: str = Field(min_length=1, max_length=1000)


class TemplatePublic(SQLModel):
    kind: str
    label: str
    channel: str
    values: list[str]
    body: str
    customised: bool
    example: str
    sms_segments: int


class NotificationPublic(SQLModel):
    id: UUID
    case_id: UUID
    about_event: str
    kind: str
    recipient_kind: str
    channel: str
    body: str
    encoding: str
    segments: int
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


TABLES: list[Table] = [
    Recipient.__table__,  # type: ignore[attr-defined]
    Notification.__table__,  # type: ignore[attr-defined]
    OptOut.__table__,  # type: ignore[attr-defined]
    MessageTemplate.__table__,  # type: ignore[attr-defined]
    *ACCOUNT_TABLES,
]
