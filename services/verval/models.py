"""Verval's tables and API shapes."""

import json
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from services.verval.registry import TABLES as REGISTRY_TABLES
from shared.accounts import ACCOUNT_TABLES
from shared.table_model import TableModel


def _now() -> datetime:
    return datetime.now(UTC)


class Verification(TableModel, table=True):
    """The outcome of checking one registered case."""

    __tablename__ = "verification"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    source_event_id: UUID = Field(unique=True)
    desa_code: str = Field(index=True)
    identity_consistent: bool
    findings_json: str = "[]"
    registry_outcome: str | None = None
    # Who the case is about, as a digest (no NIK kept here): finds the same person's other
    # cases, e.g. one registered at the district while the village's link was down.
    person_key: str = Field(default="", index=True)
    registration_number: str = ""
    category: str = ""
    created_at: datetime = Field(default_factory=_now)

    @property
    def findings(self) -> list[str]:
        found: list[str] = json.loads(self.findings_json)
        return found


class VerificationPublic(SQLModel):
    case_id: UUID
    identity_consistent: bool
    findings: list[str]
    created_at: datetime


class Proposal(TableModel, table=True):
    """A DTKS proposal (usulan) for one person, in one month's batch (see proposals.py).

    It holds what the ministry's upload needs (NIK, KK, name, address): verval is the one
    service that sends people's data to the ministry."""

    __tablename__ = "proposal"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID | None = Field(default=None, unique=True)
    registration_number: str = ""
    desa_code: str = Field(index=True)
    kind: str
    program: str
    window: str  # a key of proposals.WINDOWS
    batch_month: date = Field(index=True)  # the first day of the batch's month
    status: str = Field(index=True)
    nik: str
    kk: str
    household_key: str  # proposals.household_key(kk): the conflict-of-interest check
    name: str
    birth_date: date
    address: str = ""
    in_dtks: bool = False
    id_dtks: str | None = None
    reason: str = ""
    life_event: str | None = Field(default=None, unique=True)  # life_events.LifeEvent.key
    blocker: str = ""  # why the ministry would refuse it as it stands (unpaid arrears)
    note: str = ""  # the last return or roll-over, for the village
    drafted_by: str | None = None
    musdes_date: date | None = None
    minutes_id: UUID | None = None
    approved_by: str | None = None
    verified_by: str | None = None
    ratified_by: str | None = None
    ratified_as: str | None = None
    sent_by: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class ProposalStep(TableModel, table=True):
    """One step of a proposal's history, as the village and the district read it."""

    __tablename__ = "proposal_step"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: UUID = Field(index=True)
    at: datetime = Field(default_factory=_now)
    username: str
    role: str
    status: str
    note: str = ""


class MinutesDocument(TableModel, table=True):
    """The signed minutes (berita acara) of a musyawarah desa, as uploaded."""

    __tablename__ = "minutes_document"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    desa_code: str
    filename: str
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str
    uploaded_at: datetime = Field(default_factory=_now)


class Visit(TableModel, table=True):
    """A home visit task for one case, and what the officer found."""

    __tablename__ = "home_visit"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(unique=True)
    proposal_id: UUID | None = None
    registration_number: str = ""
    desa_code: str = Field(index=True)
    household_key: str  # the visited household's KK digest: no officer visits their own
    name: str
    address: str = ""
    reason: str = ""
    due_on: date
    checklist_json: str = "[]"  # the CHECKLIST keys the officer ticked
    verdict: str | None = None
    note: str = ""
    visited_on: date | None = None
    visited_by: str | None = None
    created_at: datetime = Field(default_factory=_now)

    @property
    def checklist(self) -> list[str]:
        ticked: list[str] = json.loads(self.checklist_json)
        return ticked


class LifeEventScan(TableModel, table=True):
    """A pair of civil and DTKS snapshots already compared for life events."""

    __tablename__ = "life_event_scan"

    civil_snapshot_id: int = Field(primary_key=True)
    dtks_snapshot_id: int = Field(primary_key=True)
    opened: int = 0
    unplaced: int = 0  # left the district, and no earlier record says from which desa
    finished_at: datetime = Field(default_factory=_now)


class VisitPhoto(TableModel, table=True):
    __tablename__ = "home_visit_photo"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    visit_id: UUID = Field(index=True)
    filename: str
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


TABLES = [
    Verification.__table__,  # type: ignore[attr-defined]
    Proposal.__table__,  # type: ignore[attr-defined]
    ProposalStep.__table__,  # type: ignore[attr-defined]
    MinutesDocument.__table__,  # type: ignore[attr-defined]
    Visit.__table__,  # type: ignore[attr-defined]
    VisitPhoto.__table__,  # type: ignore[attr-defined]
    LifeEventScan.__table__,  # type: ignore[attr-defined]
    *REGISTRY_TABLES,
    *ACCOUNT_TABLES,
]
