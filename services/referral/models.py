"""Referral's tables and API shapes."""

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from services.referral.domain import Channel
from services.referral.lifecycle import (
    CardStage,
    Command,
    NotServedReason,
    Order,
    RejectionReason,
    Status,
)
from shared.accounts import ACCOUNT_TABLES
from shared.contracts import Category
from shared.table_model import TableModel


def _now() -> datetime:
    return datetime.now(UTC)


class CaseFile(TableModel, table=True):
    """What referral knows of a case: verval's facts and whether it reached the district.

    A case is referred once both are known (or at once when it is urgent), and again when
    the village sends it back up after a correction.
    """

    __tablename__ = "case_file"

    case_id: UUID = Field(primary_key=True)
    registration_number: str = ""
    kabupaten: str
    kecamatan: str
    desa_code: str = Field(index=True)
    category: str
    urgent: bool = False
    consent_to_share: bool = False
    verified: bool = False
    identity_consistent: bool = False
    in_dtks: bool | None = None
    desil: int | None = None
    programs: str = ""  # active programs, comma-separated, as verval reported them
    at_district: bool = False
    closed_at: datetime | None = None


class Referral(TableModel, table=True):
    __tablename__ = "referral"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    registration_number: str = ""
    kabupaten: str
    kecamatan: str = Field(index=True)
    desa_code: str = Field(index=True)
    category: str = Field(index=True)
    urgent: bool = False
    destination: str = Field(index=True)
    status: str = Field(default=Status.CREATED.value, index=True)
    rejection_reason: str | None = None
    served: bool | None = None
    not_served_reason: str | None = None
    card_stage: str | None = None
    # The current step's target, and when it was escalated for passing it (once a step).
    due_at: datetime | None = Field(default=None, index=True)
    overdue_raised_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now, index=True)
    created_month: str = Field(default="", index=True)  # YYYY-MM in WIB, for the dashboard
    updated_at: datetime = Field(default_factory=_now)
    ended_at: datetime | None = None
    days_to_complete: float | None = None  # creation to completion, for the dashboard


class ReferralStep(TableModel, table=True):
    """One line of a referral's timeline: who did what, when and why. Never changed."""

    __tablename__ = "referral_step"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: UUID = Field(index=True)
    at: datetime = Field(default_factory=_now)
    command: str
    previous_status: str
    status: str
    note: str = ""
    username: str
    role: str


class DestinationRow(TableModel, table=True):
    """A program or agency referrals go to, as this district set it up."""

    __tablename__ = "destination"

    code: str = Field(primary_key=True)
    name: str
    answer_days: int
    service_days: int
    contact: str = ""
    channel: str = Channel.APPLICATION.value
    active: bool = True


class RuleRow(TableModel, table=True):
    """One routing rule of this district (see `domain.Rule`)."""

    __tablename__ = "routing_rule"

    id: int | None = Field(default=None, primary_key=True)
    category: str
    destination: str
    in_dtks: bool | None = None
    urgent: bool | None = None
    max_desil: int | None = None
    lacks_program: str | None = None
    created_by: str = "sistem"
    created_at: datetime = Field(default_factory=_now)


class DestinationIn(SQLModel):
    """What the settings page changes of a destination."""

    name: str = Field(min_length=3, max_length=120)
    answer_days: int = Field(ge=0, le=90, description="Hari kerja untuk menjawab")
    service_days: int = Field(ge=0, le=365, description="Hari kerja untuk melayani")
    contact: str = Field(default="", max_length=200)
    channel: Channel = Channel.APPLICATION
    active: bool = True


class RuleIn(SQLModel):
    category: Category
    destination: str = Field(min_length=1, max_length=40)
    in_dtks: bool | None = None
    urgent: bool | None = None
    max_desil: int | None = Field(default=None, ge=1, le=10)
    lacks_program: str | None = Field(default=None, max_length=20)


class RulePublic(RuleIn):
    id: int


class ReferralPublic(SQLModel):
    id: UUID
    case_id: UUID
    registration_number: str
    desa_code: str
    category: str
    urgent: bool
    destination: str
    status: str
    rejection_reason: str | None
    served: bool | None
    not_served_reason: str | None
    card_stage: str | None
    due_at: datetime | None
    overdue_raised_at: datetime | None
    created_at: datetime


class ReferralStepPublic(SQLModel):
    at: datetime
    command: str
    previous_status: str
    status: str
    note: str
    username: str
    role: str


class ReferralDetail(ReferralPublic):
    steps: list[ReferralStepPublic]


class OrderIn(SQLModel):
    """A command on a referral, as the API takes it."""

    command: Command
    note: str = Field(default="", max_length=2000)
    rejection_reason: RejectionReason | None = None
    served: bool | None = None
    not_served_reason: NotServedReason | None = None
    consent_override: bool = False

    def order(self) -> Order:
        return Order(
            command=self.command,
            note=" ".join(self.note.split()),
            rejection=self.rejection_reason,
            served=self.served,
            not_served=self.not_served_reason,
            consent_override=self.consent_override,
        )


class CardIn(SQLModel):
    stage: CardStage
    note: str = Field(default="", max_length=500)


class AssignIn(SQLModel):
    destination: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def not_triage(self) -> "AssignIn":
        if self.destination == "triase":
            raise ValueError("pilih instansi tujuan, bukan antrean triase")
        return self


Queue = Literal["all", "open", "overdue", "triage"]

TABLES = [
    CaseFile.__table__,  # type: ignore[attr-defined]
    Referral.__table__,  # type: ignore[attr-defined]
    ReferralStep.__table__,  # type: ignore[attr-defined]
    DestinationRow.__table__,  # type: ignore[attr-defined]
    RuleRow.__table__,  # type: ignore[attr-defined]
    *ACCOUNT_TABLES,
]
