"""Verval's tables and API shapes."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlmodel import Field, SQLModel

from services.verval.registry import TABLES as REGISTRY_TABLES


class Verification(SQLModel, table=True):
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
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def findings(self) -> list[str]:
        found: list[str] = json.loads(self.findings_json)
        return found


class VerificationPublic(SQLModel):
    case_id: UUID
    identity_consistent: bool
    findings: list[str]
    created_at: datetime


TABLES = [Verification.__table__, *REGISTRY_TABLES]  # type: ignore[attr-defined]
