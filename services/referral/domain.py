"""Referral's rules: which program or agency a verified case goes to. No I/O.

These are the national defaults; district-editable rules come with the referral issue. A
category without a program of its own goes to the secretariat's triage queue, never nowhere.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.contracts import Category


@dataclass(frozen=True)
class Destination:
    code: str
    name: str


BPJS = Destination("bpjs_dinkes", "BPJS Kesehatan / Dinas Kesehatan")
HOSPITAL = Destination("rumah_sakit", "Rumah sakit rujukan")
DTKS_ADMIN = Destination("dinsos_dtks", "Operator DTKS Dinas Sosial")
PKH = Destination("pkh", "Koordinator PKH kabupaten")
BPNT = Destination("bpnt", "Koordinator BPNT/Sembako")
PIP = Destination("pip", "Dinas Pendidikan (PIP/KIP)")
PERKIM = Destination("perkim", "Dinas Perumahan dan Kawasan Permukiman (RTLH)")
ATENSI = Destination("atensi", "Layanan ATENSI Kementerian Sosial")
TRIAGE = Destination("triase", "Antrean triase Sekretariat SLRT")

DEFAULT_ROUTES: dict[Category, Destination] = {
    Category.PBI_REACTIVATION: BPJS,
    Category.PBI_ENROLMENT: BPJS,
    Category.HEALTH_EMERGENCY: HOSPITAL,
    Category.DTKS_REGISTRATION: DTKS_ADMIN,
    Category.DTKS_CORRECTION: DTKS_ADMIN,
    Category.PKH: PKH,
    Category.BPNT: BPNT,
    Category.PIP: PIP,
    Category.RTLH: PERKIM,
    Category.ATENSI: ATENSI,
    Category.OTHER: TRIAGE,
}


class ReferralStatus(StrEnum):
    CREATED = "created"


def route(category: Category, *, identity_consistent: bool) -> Destination:
    """Where a verified case goes. An identity to correct first goes to triage."""
    if not identity_consistent:
        return TRIAGE
    return DEFAULT_ROUTES.get(category, TRIAGE)
