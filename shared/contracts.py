"""Event contracts: the envelope and every event the services exchange.

Each event is a versioned pydantic model. Adding an optional field keeps the version;
renaming or removing one is a new version with its own class. Subjects follow
`slrt.<aggregate>.<event>.<kabupaten>.<kecamatan>.<desa>` so consumers and permissions
can filter by place.
"""

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import ClassVar, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.areas import DesaPath

STREAM_NAME = "SLRT"
SUBJECT_ROOT = "slrt"


class ContractError(ValueError):
    """A message that is not a known event of a known version."""


class Category(StrEnum):
    """The controlled list of complaint categories (kategori pengaduan)."""

    PBI_REACTIVATION = "pbi_reaktivasi"
    PBI_ENROLMENT = "pbi_pendaftaran"
    DTKS_REGISTRATION = "dtks_pendaftaran"
    DTKS_CORRECTION = "dtks_perbaikan"
    PKH = "pkh"
    BPNT = "bpnt"
    PIP = "pip"
    RTLH = "rtlh"
    ATENSI = "atensi"
    HEALTH_EMERGENCY = "darurat_kesehatan"
    OTHER = "lainnya"


# What operators and citizens read for each category.
CATEGORY_LABELS: dict[Category, str] = {
    Category.PBI_REACTIVATION: "PBI-JK/KIS tidak aktif (reaktivasi)",
    Category.PBI_ENROLMENT: "PBI-JK belum terdaftar",
    Category.DTKS_REGISTRATION: "Pendaftaran DTKS",
    Category.DTKS_CORRECTION: "Perbaikan data DTKS",
    Category.PKH: "PKH",
    Category.BPNT: "BPNT/Sembako",
    Category.PIP: "PIP/KIP",
    Category.RTLH: "Rehab rumah (RTLH)",
    Category.ATENSI: "ATENSI lansia/disabilitas",
    Category.HEALTH_EMERGENCY: "Darurat kesehatan",
    Category.OTHER: "Lainnya",
}


def category_label(value: str) -> str:
    """The label of a stored category value; an unknown one is shown as it is."""
    try:
        return CATEGORY_LABELS[Category(value)]
    except ValueError:
        return value


# How a citizen wants to hear about their case; "none" means through the village office.
ContactChannel = Literal["sms", "whatsapp", "email", "none"]


class Sex(StrEnum):
    MALE = "L"
    FEMALE = "P"


class Actor(BaseModel):
    """Who caused an event: a user with a role and an area, or a service acting on its own."""

    model_config = ConfigDict(frozen=True)
    user_id: str
    role: str
    area_code: str


class AreaCodes(BaseModel):
    model_config = ConfigDict(frozen=True)
    kabupaten: str
    kecamatan: str
    desa: str

    @classmethod
    def of(cls, path: DesaPath) -> "AreaCodes":
        return cls(kabupaten=path.kabupaten, kecamatan=path.kecamatan, desa=path.desa)

    @classmethod
    def of_desa(cls, desa_code: str) -> "AreaCodes":
        """The codes of a desa and its kecamatan and kabupaten, from the desa's code."""
        return cls.of(DesaPath.of(desa_code))

    def path(self) -> DesaPath:
        return DesaPath(self.kabupaten, self.kecamatan, self.desa)


class Event(BaseModel):
    """The envelope every event carries; subclasses add their body fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    event_id: UUID = Field(default_factory=uuid4)
    type: str
    version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    case_id: UUID
    area: AreaCodes
    trace_id: str
    actor: Actor

    def subject(self) -> str:
        return f"{SUBJECT_ROOT}.{self.type}.{self.area.path().subject_tokens()}"

    @classmethod
    def filter_subject(cls) -> str:
        """The subject filter matching this event type in every area."""
        return f"{SUBJECT_ROOT}.{cls.TYPE}.>"


class Person(BaseModel):
    """Identity as registered. Personal data: only in events whose consumers need it."""

    nik: str = Field(pattern=r"^\d{16}$")
    kk: str | None = Field(default=None, pattern=r"^\d{16}$")
    name: str
    birth_date: date
    birth_place: str = ""  # as written on the KTP; empty where the desk did not record it
    sex: Sex
    phone: str | None = None
    email: str | None = None


class CaseRegistered(Event):
    """A village front office registered a case. Carries the person: verval and notify need it."""

    TYPE: ClassVar[str] = "case.registered"
    VERSION: ClassVar[int] = 1
    type: Literal["case.registered"] = "case.registered"
    version: Literal[1] = 1
    registration_number: str
    person: Person
    category: Category
    description: str
    urgent: bool = False
    # The citizen agreed to share their data with the programs they are referred to.
    consent_to_share: bool = False
    # The channel the citizen agreed to be told on (recorded with their consent).
    contact: ContactChannel = "sms"
    # Labels of the documents the SOP asks for that were not brought (no personal data).
    missing_documents: list[str] = Field(default_factory=list)


class CaseUpdated(Event):
    """The village corrected the person's identity (after a mismatch with Dukcapil, say);
    verval checks the case again. `changed` names the fields, never their values."""

    TYPE: ClassVar[str] = "case.updated"
    VERSION: ClassVar[int] = 1
    type: Literal["case.updated"] = "case.updated"
    version: Literal[1] = 1
    registration_number: str
    person: Person
    category: Category
    urgent: bool = False
    consent_to_share: bool = False
    changed: list[str] = Field(default_factory=list)


class CaseContactChanged(Event):
    """The village corrected how to reach the citizen. Carries the phone and e-mail: only
    notify consumes it."""

    TYPE: ClassVar[str] = "case.contact_changed"
    VERSION: ClassVar[int] = 1
    type: Literal["case.contact_changed"] = "case.contact_changed"
    version: Literal[1] = 1
    phone: str | None = None
    email: str | None = None
    contact: ContactChannel


class CaseVerified(Event):
    """Verval's verdict on a case, with the facts referral needs and no personal data."""

    TYPE: ClassVar[str] = "case.verified"
    VERSION: ClassVar[int] = 1
    type: Literal["case.verified"] = "case.verified"
    version: Literal[1] = 1
    category: Category
    urgent: bool = False
    consent_to_share: bool = False
    identity_consistent: bool
    findings: list[str] = Field(default_factory=list)
    in_dtks: bool | None = None
    registration_number: str = ""
    # Against the registry snapshots (absent until one is imported): the civil-registry
    # outcome (match, mismatch, not_found, deceased, no_registry), the fields to correct at
    # Dukcapil, and the program facts referral routes on. No name, NIK or KK.
    registry_outcome: str | None = None
    mismatched_fields: list[str] = Field(default_factory=list)
    id_dtks: str | None = None
    desil: int | None = None
    active_programs: list[str] = Field(default_factory=list)
    pbi_active: bool | None = None
    bpjs_arrears: int = 0
    # Registration numbers of the same person's other recent cases (never merged).
    possible_duplicates: list[str] = Field(default_factory=list)


class ReferralCreated(Event):
    """The secretariat (or its routing rules) referred a case to a program or agency."""

    TYPE: ClassVar[str] = "referral.created"
    VERSION: ClassVar[int] = 1
    type: Literal["referral.created"] = "referral.created"
    version: Literal[1] = 1
    referral_id: UUID
    destination: str
    destination_name: str


class ReferralUpdated(Event):
    """A referral moved (sent, accepted, rejected, served, completed...) or its card did.

    `returns_to_village` says the village must correct something and send the case again.
    """

    TYPE: ClassVar[str] = "referral.updated"
    VERSION: ClassVar[int] = 1
    type: Literal["referral.updated"] = "referral.updated"
    version: Literal[1] = 1
    referral_id: UUID
    destination: str
    destination_name: str
    command: str
    previous_status: str
    status: str
    status_label: str
    note: str = ""
    rejection_reason: str | None = None
    rejection_label: str | None = None
    returns_to_village: bool = False
    served: bool | None = None
    not_served_reason: str | None = None
    card_stage: str | None = None


class ReferralOverdue(Event):
    """A referral's step passed its target time; raised once per step, for the head."""

    TYPE: ClassVar[str] = "referral.overdue"
    VERSION: ClassVar[int] = 1
    type: Literal["referral.overdue"] = "referral.overdue"
    version: Literal[1] = 1
    referral_id: UUID
    destination: str
    status: str
    due_at: datetime
    urgent: bool = False


class CaseClosed(Event):
    """Every referral of the case has ended: the district's decision and what came of it."""

    TYPE: ClassVar[str] = "case.closed"
    VERSION: ClassVar[int] = 1
    type: Literal["case.closed"] = "case.closed"
    version: Literal[1] = 1
    decision: Literal["served", "not_served"]
    summary: str


class CaseReopened(Event):
    """The citizen reopened their closed case (within 30 days) with a reason; it is back in
    the village's queue."""

    TYPE: ClassVar[str] = "case.reopened"
    VERSION: ClassVar[int] = 1
    type: Literal["case.reopened"] = "case.reopened"
    version: Literal[1] = 1
    registration_number: str
    reason: str


class NotificationSent(Event):
    """A message reached its channel. Names the recipient kind, never the number."""

    TYPE: ClassVar[str] = "notification.sent"
    VERSION: ClassVar[int] = 1
    type: Literal["notification.sent"] = "notification.sent"
    version: Literal[1] = 1
    notification_id: UUID
    about_event: str
    recipient_kind: Literal["citizen", "village_office", "officer"]
    channel: str
    # What the person read (it names the case, never a NIK or number), so the village
    # office can repeat it to a citizen who asks.
    text: str = ""


class NotificationFailed(Event):
    """A message could not be delivered after its last attempt (or its status was lost in a
    crash on a channel that cannot be retried safely). The reason, never the number."""

    TYPE: ClassVar[str] = "notification.failed"
    VERSION: ClassVar[int] = 1
    type: Literal["notification.failed"] = "notification.failed"
    version: Literal[1] = 1
    notification_id: UUID
    about_event: str
    recipient_kind: Literal["citizen", "village_office", "officer"]
    channel: str
    reason: str
    attempts: int


E = TypeVar("E", bound=Event)


class CaseResolvedLocally(Event):
    """The village answered the case itself (information, a document, a village letter)."""

    TYPE: ClassVar[str] = "case.resolved_locally"
    VERSION: ClassVar[int] = 1
    type: Literal["case.resolved_locally"] = "case.resolved_locally"
    version: Literal[1] = 1
    resolution: str
    note: str


class CaseEscalated(Event):
    """The case left the village (level kecamatan) or the sub-district (level kabupaten)."""

    TYPE: ClassVar[str] = "case.escalated"
    VERSION: ClassVar[int] = 1
    type: Literal["case.escalated"] = "case.escalated"
    version: Literal[1] = 1
    level: Literal["kecamatan", "kabupaten"]
    reason: str
    category: Category
    urgent: bool = False
    consent_to_share: bool = False
    registration_number: str = ""


class CaseReturned(Event):
    """The case came back to the village's back office with a note saying why."""

    TYPE: ClassVar[str] = "case.returned"
    VERSION: ClassVar[int] = 1
    type: Literal["case.returned"] = "case.returned"
    version: Literal[1] = 1
    note: str


# Request/reply, outside the SLRT stream on purpose: a NIK asked about is never stored.
PRECHECK_SUBJECT = "rpc.verval.precheck"


class PrecheckRequest(BaseModel):
    """Intake asks verval, while the citizen is at the desk, what applies to them."""

    nik: str = Field(pattern=r"^\d{16}$")
    category: Category


class ProposalUpdated(Event):
    """A DTKS proposal opened for a case moved on, or missed its window and moved to the
    next month's: what the village tells the citizen. No personal data."""

    TYPE: ClassVar[str] = "proposal.updated"
    VERSION: ClassVar[int] = 1
    type: Literal["proposal.updated"] = "proposal.updated"
    version: Literal[1] = 1
    proposal_id: UUID
    registration_number: str = ""
    program: str
    kind_label: str
    status: str
    status_label: str
    batch: str  # the monthly window it goes in, e.g. "Usulan DTKS ..., 15–25 Desember 2026"
    note: str = ""


class VisitUpdated(Event):
    """A home visit for a case was assigned, or the officer recorded what they found: what
    the village tells the citizen. No personal data."""

    TYPE: ClassVar[str] = "visit.updated"
    VERSION: ClassVar[int] = 1
    type: Literal["visit.updated"] = "visit.updated"
    version: Literal[1] = 1
    visit_id: UUID
    registration_number: str = ""
    due_on: date
    visited_on: date | None = None  # None: assigned, not yet visited
    verdict_label: str = ""


class ProposalWindow(BaseModel):
    """The ministry's monthly window for this kind of proposal."""

    name: str
    open_now: bool
    opens_on: date
    closes_on: date


class PrecheckReply(BaseModel):
    """What verval knows now. `registry_loaded` false means verval has no snapshot yet."""

    registry_loaded: bool
    in_dtks: bool | None = None
    id_dtks: str | None = None
    active_programs: list[str] = Field(default_factory=list)
    pbi_active: bool | None = None
    window: ProposalWindow | None = None
    advice: list[str] = Field(default_factory=list)


EVENT_CLASSES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (
        CaseRegistered,
        CaseUpdated,
        CaseVerified,
        ReferralCreated,
        NotificationSent,
        NotificationFailed,
        CaseResolvedLocally,
        CaseEscalated,
        CaseReturned,
        ReferralUpdated,
        ReferralOverdue,
        CaseClosed,
        CaseReopened,
        CaseContactChanged,
        ProposalUpdated,
        VisitUpdated,
    )
}


def parse_event(raw: bytes, expected: type[E]) -> E:
    """Parse `raw` as `expected`, or raise ContractError saying what is wrong."""
    try:
        head = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"not JSON: {exc}") from exc
    if not isinstance(head, dict):
        raise ContractError("not a JSON object")
    found = (head.get("type"), head.get("version"))
    if found != (expected.TYPE, expected.VERSION):
        raise ContractError(
            f"expected {expected.TYPE} v{expected.VERSION}, got {found[0]} v{found[1]}"
        )
    try:
        return expected.model_validate(head)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise ContractError(f"invalid {expected.TYPE}: {problems}") from exc
