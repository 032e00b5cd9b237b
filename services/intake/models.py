"""Intake's tables and the shapes of what comes in and goes out of its API."""

from datetime import UTC, date, datetime
from typing import Self
from uuid import UUID, uuid4

from pydantic import EmailStr, field_validator, model_validator
from sqlmodel import Field, SQLModel, UniqueConstraint

from services.intake.domain import (
    NEXT_STEPS,
    STATUS_LABELS,
    CaseStatus,
    Electricity,
    FloorType,
    reopen_deadline,
)
from services.intake.workflow import STAGE_LABELS, Action, Resolution, Stage
from shared.accounts import ACCOUNT_TABLES
from shared.contracts import CATEGORY_LABELS, Category, ContactChannel, PrecheckReply, Sex
from shared.identity import check_kk, mask_nik, nik_disagreements, normalise_phone, parse_nik
from shared.table_model import TableModel


def _now() -> datetime:
    return datetime.now(UTC)


class Identity(SQLModel):
    """Who the person is, checked the same way at registration and at a correction."""

    nik: str = Field(description="NIK, 16 angka")
    name: str = Field(min_length=2, max_length=120)
    birth_date: date
    birth_place: str = Field(default="", max_length=60, description="tempat lahir, seperti di KTP")
    sex: Sex
    kk: str = Field(description="Nomor Kartu Keluarga, 16 angka")

    @field_validator("nik")
    @classmethod
    def nik_is_possible(cls, value: str) -> str:
        value = value.replace(" ", "")
        parse_nik(value)
        return value

    @field_validator("kk")
    @classmethod
    def kk_is_possible(cls, value: str) -> str:
        return check_kk(value.replace(" ", ""))

    @field_validator("name", "birth_place")
    @classmethod
    def one_space(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("birth_date")
    @classmethod
    def born_in_the_past(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("tanggal lahir tidak boleh di masa depan")
        return value

    @model_validator(mode="after")
    def nik_agrees_with_person(self) -> Self:
        problems = nik_disagreements(self.nik, birth_date=self.birth_date, sex=self.sex)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class CaseDetails(SQLModel):
    """What the village records besides identity, and may correct later: how to reach the
    citizen, the complaint, the address and the household."""

    phone: str | None = Field(default=None, description="Nomor HP, contoh 0812 3456 7890")
    email: EmailStr | None = Field(default=None, description="Alamat e-mail warga (boleh kosong)")
    contact: ContactChannel | None = Field(
        default=None,
        description="Cara warga mau dikabari: sms, whatsapp, email, atau none (lewat kantor "
        "desa); kosong: SMS bila ada nomor HP, selain itu lewat kantor desa",
    )
    description: str = Field(min_length=5, max_length=4000)
    address: str = Field(min_length=3, max_length=200, description="Jalan/kampung, nomor rumah")
    rt: str = Field(description="RT, contoh 003")
    rw: str = Field(description="RW, contoh 001")
    dusun: str | None = Field(default=None, max_length=80)
    # Household economics, for the back office's review; all optional at the desk.
    household_size: int | None = Field(default=None, ge=1, le=30)
    working_members: int | None = Field(default=None, ge=0, le=30)
    monthly_income: int | None = Field(default=None, ge=0, le=100_000_000, description="Rupiah")
    floor_type: FloorType | None = None
    electricity: Electricity | None = None
    citizen_account: str | None = Field(default=None, max_length=2000)

    @field_validator("rt", "rw")
    @classmethod
    def three_digits(cls, value: str) -> str:
        value = value.strip()
        if not (value.isdigit() and 1 <= len(value) <= 3):
            raise ValueError("harus angka, paling banyak 3 digit (contoh 003)")
        return value.zfill(3)

    @field_validator("description")
    @classmethod
    def strip(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("phone")
    @classmethod
    def phone_is_mobile(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None

    @model_validator(mode="after")
    def contact_can_reach(self) -> Self:
        if self.contact is None:
            self.contact = "sms" if self.phone else "none"
        if self.contact in ("sms", "whatsapp") and not self.phone:
            raise ValueError(f"isi nomor HP untuk dikabari lewat {self.contact.upper()}")
        if self.contact == "email" and not self.email:
            raise ValueError("isi alamat e-mail untuk dikabari lewat e-mail")
        return self

    @model_validator(mode="after")
    def workers_fit_the_household(self) -> Self:
        if self.household_size and (self.working_members or 0) > self.household_size:
            raise ValueError("jumlah anggota yang bekerja melebihi jumlah anggota keluarga")
        return self


class CaseCreate(Identity, CaseDetails):
    """What the front office submits to register a case."""

    desa_code: str = Field(description="Kode desa Kemendagri, contoh 33.17.01.2001")
    category: Category
    urgent: bool = False
    consent_to_share: bool = Field(
        default=False, description="Warga setuju datanya dibagikan ke program/instansi rujukan"
    )
    has_no_id: bool = Field(default=False, description="Tidak punya KTP: perlu surat domisili")


class Case(TableModel, table=True):
    __tablename__ = "case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    registration_number: str = Field(unique=True)
    nik: str = Field(index=True)
    kk: str = Field(index=True)
    name: str
    birth_date: date
    birth_place: str = ""
    sex: str
    phone: str | None = None
    email: str | None = None
    contact: str = "sms"
    desa_code: str = Field(index=True)
    address: str
    rt: str
    rw: str
    dusun: str | None = None
    kecamatan_code: str
    kabupaten_code: str
    category: str
    description: str
    urgent: bool = False
    consent_to_share: bool = False
    has_no_id: bool = False
    household_size: int | None = None
    working_members: int | None = None
    monthly_income: int | None = None
    floor_type: str | None = None
    electricity: str | None = None
    citizen_account: str | None = None
    # Not indexed: a yes/no column narrows nothing that the desa's index has not (the list's
    # filter), and every registration and upload would write the index.
    documents_complete: bool = False
    consent_recorded_by: str | None = None
    consent_recorded_at: datetime | None = None
    consent_override_by: str | None = None
    consent_override_reason: str | None = None
    consent_override_at: datetime | None = None
    status: str = CaseStatus.REGISTERED.value
    stage: str = Field(default=Stage.VILLAGE.value, index=True)
    idempotency_key: str | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    # What verval answered at the desk (PrecheckReply as JSON), if it answered in time.
    precheck_json: str | None = None
    # After the district closes the case, the citizen may rate it and, within 30 days,
    # reopen it from the status page.
    closed_at: datetime | None = None
    rating: int | None = None
    rating_comment: str | None = None

    def may_share(self) -> bool:
        """The citizen's data may go to programs outside the village: they consented, or
        their sub-district supervisor allowed it with a reason."""
        return self.consent_to_share or self.consent_override_by is not None

    def precheck(self) -> PrecheckReply | None:
        """Verval's answer at the desk, as kept with the case."""
        return PrecheckReply.model_validate_json(self.precheck_json) if self.precheck_json else None


class Document(TableModel, table=True):
    """An uploaded document of a case; the file itself is stored once by its SHA-256."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("case_id", "doc_type", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True, foreign_key="case.id")
    doc_type: str
    sha256: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: datetime = Field(default_factory=_now)


class DocumentPublic(SQLModel):
    doc_type: str
    label: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: datetime


class DocumentChecklist(SQLModel):
    """What a case has and what the SOP still asks for."""

    uploaded: list[DocumentPublic]
    missing: list[dict[str, str]]
    complete: bool


class TimelineEntry(TableModel, table=True):
    """One step any service took on a case, as intake heard of it."""

    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True, foreign_key="case.id")
    at: datetime
    service: str
    step: str
    note: str
    actor: str
    event_id: UUID | None = Field(default=None, unique=True)


class RegistrationCounter(TableModel, table=True):
    """The last registration sequence used per desa and month."""

    __tablename__ = "registration_counter"
    __table_args__ = (UniqueConstraint("desa_code", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    desa_code: str
    period: str
    last: int = 0


class TimelineEntryPublic(SQLModel):
    at: datetime
    service: str
    step: str
    note: str
    actor: str


class CaseCreated(SQLModel):
    id: UUID
    registration_number: str
    status: str
    status_label: str
    url: str
    precheck: PrecheckReply | None = None


class CaseSummary(SQLModel):
    """A line of the village case list: no NIK, no phone."""

    id: UUID
    registration_number: str
    name: str
    desa_code: str
    category: str
    category_label: str
    urgent: bool
    documents_complete: bool
    status: str
    status_label: str
    stage: str
    stage_label: str
    created_at: datetime

    @classmethod
    def of(cls, case: Case) -> "CaseSummary":
        return cls(
            id=case.id,
            registration_number=case.registration_number,
            name=case.name,
            desa_code=case.desa_code,
            category=case.category,
            category_label=CATEGORY_LABELS[Category(case.category)],
            urgent=case.urgent,
            documents_complete=case.documents_complete,
            status=case.status,
            status_label=STATUS_LABELS[CaseStatus(case.status)],
            stage=case.stage,
            stage_label=STAGE_LABELS[Stage(case.stage)],
            created_at=case.created_at,
        )


class StatusLookup(TableModel, table=True):
    """One look-up on the public status page, kept for a minute to limit guessing. The
    client's address is stored hashed."""

    __tablename__ = "status_lookup"

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(index=True)
    at: datetime = Field(index=True)


class VillageRule(TableModel, table=True):
    """How a desa handles what leaves it: whether its head signs after the coordinator."""

    __tablename__ = "village_rule"

    desa_code: str = Field(primary_key=True)
    head_signs: bool = False
    updated_by: str
    updated_at: datetime = Field(default_factory=_now)


class VillageRuleIn(SQLModel):
    head_signs: bool = Field(
        description="Kepala desa ikut menyetujui kasus yang keluar desa, sesudah koordinator"
    )


class VillageRulePublic(SQLModel):
    desa_code: str
    head_signs: bool


class CaseAction(SQLModel):
    """An operator's step on a case: resolve it in the village, propose, approve, forward..."""

    action: Action
    reason: str = Field(default="", max_length=2000, description="Alasan atau catatan")
    resolution: Resolution | None = None


HOUSEHOLD_FIELDS = (
    "household_size",
    "working_members",
    "monthly_income",
    "floor_type",
    "electricity",
    "citizen_account",
)


class CasePublic(CaseSummary):
    """A case as its page shows it: the summary, the NIK masked, household, consent, timeline."""

    nik_masked: str
    kk_masked: str
    address: str
    rt: str
    rw: str
    dusun: str | None
    household: dict[str, str | int | None]
    consent_to_share: bool
    consent_recorded_by: str | None
    precheck: PrecheckReply | None
    consent_recorded_at: datetime | None
    consent_override_by: str | None
    consent_override_reason: str | None
    timeline: list[TimelineEntryPublic]

    @classmethod
    def of_case(cls, case: Case, timeline: list[TimelineEntry]) -> "CasePublic":
        return cls(
            **CaseSummary.of(case).model_dump(),
            nik_masked=mask_nik(case.nik),
            kk_masked=mask_nik(case.kk),
            address=case.address,
            rt=case.rt,
            rw=case.rw,
            dusun=case.dusun,
            household={name: getattr(case, name) for name in HOUSEHOLD_FIELDS},
            consent_to_share=case.consent_to_share,
            consent_recorded_by=case.consent_recorded_by,
            precheck=case.precheck(),
            consent_recorded_at=case.consent_recorded_at,
            consent_override_by=case.consent_override_by,
            consent_override_reason=case.consent_override_reason,
            timeline=[
                TimelineEntryPublic.model_validate(e, from_attributes=True) for e in timeline
            ],
        )


TABLES = [
    Case.__table__,  # type: ignore[attr-defined]
    Document.__table__,  # type: ignore[attr-defined]
    TimelineEntry.__table__,  # type: ignore[attr-defined]
    RegistrationCounter.__table__,  # type: ignore[attr-defined]
    VillageRule.__table__,  # type: ignore[attr-defined]
    StatusLookup.__table__,  # type: ignore[attr-defined]
    *ACCOUNT_TABLES,
]


class IdentityCorrection(Identity):
    """The person's identity as corrected at the desk (after a mismatch with Dukcapil, say);
    every field is given again, so the same rules as registration apply."""

    note: str = Field(min_length=5, max_length=500, description="Apa yang dikoreksi dan dasarnya")


class DetailsCorrection(CaseDetails):
    """The case's details as corrected at the desk: every field given again, checked as at
    registration."""

    note: str = Field(min_length=5, max_length=500, description="Apa yang dikoreksi dan dasarnya")


class CitizenCheck(SQLModel):
    """How a citizen proves it is their case: the number and their birth date."""

    registration_number: str = Field(min_length=5, max_length=40)
    birth_date: date


class RatingIn(CitizenCheck):
    rating: int = Field(ge=1, le=5, description="1 (buruk) sampai 5 (sangat baik)")
    comment: str = Field(default="", max_length=1000)


class ReopenIn(CitizenCheck):
    reason: str = Field(min_length=5, max_length=1000, description="Mengapa dibuka kembali")


class PublicStatus(SQLModel):
    """What anyone holding a registration number and birth date may see: no personal data."""

    registration_number: str
    category_label: str
    status: str
    status_label: str
    stage_label: str
    next_step: str
    updated_at: datetime
    may_rate: bool
    rating: int | None
    may_reopen_until: date | None

    @classmethod
    def of(cls, case: Case, today: date) -> "PublicStatus":
        status = CaseStatus(case.status)
        until = reopen_deadline(case.closed_at) if case.closed_at else None
        closed = status is CaseStatus.CLOSED
        return cls(
            registration_number=case.registration_number,
            category_label=CATEGORY_LABELS[Category(case.category)],
            status=status.value,
            status_label=STATUS_LABELS[status],
            stage_label=STAGE_LABELS[Stage(case.stage)],
            next_step=NEXT_STEPS[status],
            updated_at=case.updated_at,
            may_rate=closed and case.rating is None,
            rating=case.rating,
            may_reopen_until=until
            if status is CaseStatus.CLOSED and until and today <= until
            else None,
        )
