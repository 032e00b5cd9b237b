"""Intake's rules: phone numbers, registration numbers, case status and its labels. No I/O."""

from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.areas import WIB, compact_code
from shared.auth import Role
from shared.contracts import Category
from shared.db import as_utc

# Who may do what with cases (always within their own area).
REGISTRARS = frozenset({Role.FRONT_OFFICE, Role.BACK_OFFICE, Role.SECRETARIAT})
CASE_READERS = frozenset(
    {
        Role.FRONT_OFFICE,
        Role.BACK_OFFICE,
        Role.COORDINATOR,
        Role.VILLAGE_HEAD,
        Role.SUPERVISOR,
        Role.SECRETARIAT,
    }
)
# The admin manages users and reads the audit log, never a citizen's case itself.
AUDIT_READERS = frozenset({Role.SUPERVISOR, Role.SECRETARIAT, Role.ADMIN})


class FloorType(StrEnum):
    """Floor of the house, as the back office asks (one of the DTKS welfare indicators)."""

    EARTH = "tanah"
    BAMBOO_WOOD = "bambu_kayu"
    CEMENT = "semen"
    TILE = "keramik"


class Electricity(StrEnum):
    NONE = "tidak_ada"
    SHARED = "menumpang"
    VA_450 = "450va"
    VA_900 = "900va"
    ABOVE_900 = "lebih_900va"


FLOOR_LABELS = {
    FloorType.EARTH: "Tanah",
    FloorType.BAMBOO_WOOD: "Bambu/kayu murah",
    FloorType.CEMENT: "Semen/plester",
    FloorType.TILE: "Keramik",
}
ELECTRICITY_LABELS = {
    Electricity.NONE: "Tidak ada listrik",
    Electricity.SHARED: "Menumpang tetangga",
    Electricity.VA_450: "PLN 450 VA",
    Electricity.VA_900: "PLN 900 VA",
    Electricity.ABOVE_900: "PLN lebih dari 900 VA",
}


class DocumentType(StrEnum):
    """The documents the Puskesos SOP asks for (seed 004, lines 1340-1510)."""

    KTP = "ktp"
    KK = "kk"
    SKTM = "sktm"
    KKS_KIP = "kks_kip"
    DOMICILE_LETTER = "surat_domisili"
    ELECTRICITY_BILL = "rekening_listrik"
    HOUSE_FRONT = "foto_rumah_depan"
    HOUSE_SIDE = "foto_rumah_samping"


DOCUMENT_LABELS: dict[DocumentType, str] = {
    DocumentType.KTP: "Fotokopi KTP",
    DocumentType.KK: "Fotokopi Kartu Keluarga",
    DocumentType.SKTM: "Surat Keterangan Tidak Mampu (SKTM)",
    DocumentType.KKS_KIP: "KKS/KIP (jika punya)",
    DocumentType.DOMICILE_LETTER: "Surat keterangan domisili",
    DocumentType.ELECTRICITY_BILL: "Rekening listrik",
    DocumentType.HOUSE_FRONT: "Foto rumah tampak depan",
    DocumentType.HOUSE_SIDE: "Foto rumah tampak samping",
}
_HOUSEHOLD_EVIDENCE = (
    DocumentType.SKTM,
    DocumentType.ELECTRICITY_BILL,
    DocumentType.HOUSE_FRONT,
    DocumentType.HOUSE_SIDE,
)
# Beyond identity (KTP or, without one, a domicile letter; and the KK). An emergency asks
# for nothing more at the desk: the documents can follow the patient.
EXTRA_DOCUMENTS: dict[Category, tuple[DocumentType, ...]] = {
    Category.PBI_REACTIVATION: (DocumentType.SKTM,),
    Category.PBI_ENROLMENT: _HOUSEHOLD_EVIDENCE,
    Category.DTKS_REGISTRATION: _HOUSEHOLD_EVIDENCE,
    Category.DTKS_CORRECTION: (DocumentType.SKTM,),
    Category.PKH: _HOUSEHOLD_EVIDENCE,
    Category.BPNT: _HOUSEHOLD_EVIDENCE,
    Category.PIP: (DocumentType.SKTM,),
    Category.RTLH: _HOUSEHOLD_EVIDENCE,
    Category.ATENSI: (DocumentType.SKTM,),
    Category.HEALTH_EMERGENCY: (),
    Category.OTHER: (),
}


def required_documents(category: Category, *, has_no_id: bool) -> list[DocumentType]:
    identity = DocumentType.DOMICILE_LETTER if has_no_id else DocumentType.KTP
    return [identity, DocumentType.KK, *EXTRA_DOCUMENTS[category]]


def missing_documents(
    category: Category, *, has_no_id: bool, uploaded: set[DocumentType]
) -> list[DocumentType]:
    return [d for d in required_documents(category, has_no_id=has_no_id) if d not in uploaded]


MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# Recognised by their first bytes, not by the name or the browser's claim.
_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"%PDF-": "application/pdf",
}


def sniff_content_type(head: bytes) -> str | None:
    """The accepted type a file's first bytes show (JPEG, PNG or PDF), else None."""
    return next((kind for magic, kind in _SIGNATURES.items() if head.startswith(magic)), None)


class CaseStatus(StrEnum):
    """Where a case stands, in the order it normally moves."""

    REGISTERED = "registered"
    NEEDS_CORRECTION = "needs_correction"
    VERIFIED = "verified"
    REFERRED = "referred"
    CLOSED = "closed"


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REGISTERED: "Terdaftar, menunggu verifikasi data",
    CaseStatus.NEEDS_CORRECTION: "Data perlu diperbaiki",
    CaseStatus.VERIFIED: "Data sudah diverifikasi",
    CaseStatus.REFERRED: "Sudah dirujuk ke program/instansi",
    CaseStatus.CLOSED: "Selesai",
}
_STATUS_ORDER = list(CaseStatus)

# What the citizen should do next, as the public status page says it.
NEXT_STEPS: dict[CaseStatus, str] = {
    CaseStatus.REGISTERED: (
        "Data Anda sedang diperiksa. Tidak perlu datang lagi; kami kabari lewat SMS "
        "atau kantor desa."
    ),
    CaseStatus.NEEDS_CORRECTION: "Datang ke kantor desa membawa KTP dan KK untuk memperbaiki data.",
    CaseStatus.VERIFIED: (
        "Data Anda sudah sesuai. Kasus sedang disiapkan untuk dirujuk ke program yang tepat."
    ),
    CaseStatus.REFERRED: (
        "Kasus Anda sudah dirujuk. Tunggu kabar dari program/instansi tujuan; kami kabari hasilnya."
    ),
    CaseStatus.CLOSED: (
        "Kasus Anda sudah selesai. Hasilnya kami kirim lewat SMS; tanyakan juga di kantor desa."
    ),
}


REOPEN_DAYS = 30  # a citizen may reopen a closed case within this many days


def reopen_deadline(closed_at: datetime) -> date:
    """The last day (WIB) a closed case may be reopened by its citizen."""
    return as_utc(closed_at).astimezone(WIB).date() + timedelta(days=REOPEN_DAYS)


def advance(current: CaseStatus, reported: CaseStatus) -> CaseStatus:
    """The later of two statuses: events from different services may arrive out of order."""
    return max(current, reported, key=_STATUS_ORDER.index)


def retry_after(attempts: list[datetime], now: datetime, *, limit: int, window: timedelta) -> float:
    """0 when one more attempt is allowed now, else the seconds until it will be, given a
    client's earlier attempts (a sliding window). Keeps the public status page from being
    used to enumerate registration numbers."""
    recent = sorted(at for at in attempts if at > now - window)
    if len(recent) < limit:
        return 0.0
    return (recent[-limit] + window - now).total_seconds()


def registration_number(desa_code: str, on: date, sequence: int) -> str:
    """`3317012001-2611-0007`: desa, year-month and the month's sequence, easy to read out."""
    return f"{compact_code(desa_code)}-{on:%y%m}-{sequence:04d}"
