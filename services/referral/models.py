"""Referral's tables and API shapes."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlmodel import Field, SQLModel

from services.referral.domain import ReferralStatus


class Referral(SQLModel, table=True):
    __tablename__ = "referral"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    source_event_id: UUID = Field(unique=True)
    desa_code: str = Field(index=True)
    category: str
    urgent: bool = False
    destination: str = Field(index=True)
    status: str = ReferralStatus.CREATED.value
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ReferralPublic(SQLModel):
    id: UUID
    case_id: UUID
    desa_code: str
    category: str
    urgent: bool
    destination: str
    status: str
    created_at: datetime


TABLES = [Referral.__table__]  # type: ignore[attr-defined]
