"""Intake's rules: phone numbers, registration numbers, case status and its labels. No I/O."""

import re
import time
from collections import deque
from collections.abc import Callable
from datetime import date
from enum import StrEnum

from shared.areas import compact_code
from shared.auth import Role
from shared.contracts import Category

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


# Who may do what with cases (always within their own area).
REGISTRARS = frozenset({Role.FRONT_OFFICE, Role.BACK_OFFICE, Role.SECRETARIAT})
CASE_READERS = frozenset({Role.FRONT_OFFICE, Role.BACK_OFFICE, Role.SUPERVISOR, Role.SECRETARIAT})
# The admin manages users and reads the audit log, never a citizen's case itself.
AUDIT_READERS = frozenset({Role.SUPERVISOR, Role.SECRETARIAT, Role.ADMIN})


class CaseStatus(StrEnum):
    """Where a case stands, in the order it normally moves."""

    REGISTERED = "registered"
    NEEDS_CORRECTION = "needs_correction"
    VERIFIED = "verified"
    REFERRED = "referred"


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REGISTERED: "Terdaftar, menunggu verifikasi data",
    CaseStatus.NEEDS_CORRECTION: "Data perlu diperbaiki",
    CaseStatus.VERIFIED: "Data sudah diverifikasi",
    CaseStatus.REFERRED: "Sudah dirujuk ke program/instansi",
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
}


def advance(current: CaseStatus, reported: CaseStatus) -> CaseStatus:
    """The later of two statuses: events from different services may arrive out of order."""
    return max(current, reported, key=_STATUS_ORDER.index)


class RateLimiter:
    """At most `limit` attempts per key within `window` seconds (a sliding window).

    Keeps the public status page from being used to enumerate registration numbers. It lives
    in one process: behind several intake instances each counts on its own.
    """

    def __init__(
        self, *, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._attempts: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Record an attempt; 0 if allowed, else the seconds until the next one will be."""
        now = self.clock()
        attempts = self._attempts.setdefault(key, deque())
        while attempts and attempts[0] <= now - self.window:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return attempts[0] + self.window - now
        attempts.append(now)
        if len(self._attempts) > 10_000:  # forget idle keys so memory stays bounded
            self._attempts = {
                k: v for k, v in self._attempts.items() if v and v[-1] > now - self.window
            }
        return 0.0


class PhoneError(ValueError):
    pass


_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(raw: str) -> str:
    """An Indonesian mobile number as +628...; accepts 08..., 628..., +62 8..."""
    digits = _PHONE_SEPARATORS.sub("", raw)
    if digits.startswith("+62"):
        digits = digits[3:]
    elif digits.startswith("62"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    if not digits.isdigit() or not digits.startswith("8") or not 9 <= len(digits) <= 12:
        raise PhoneError("nomor HP tidak valid; contoh: 0812 3456 7890")
    return f"+62{digits}"


def registration_number(desa_code: str, on: date, sequence: int) -> str:
    """`3317012001-2611-0007`: desa, year-month and the month's sequence, easy to read out."""
    return f"{compact_code(desa_code)}-{on:%y%m}-{sequence:04d}"
