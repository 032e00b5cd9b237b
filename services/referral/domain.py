"""Referral's routing: which programs or agencies a case at the district goes to. No I/O.

These are the national defaults; district-editable rules are still to come (issue 5). A
category without a program of its own, or a person whose identity must first be corrected,
goes to the secretariat's triage queue: never nowhere.
"""

from dataclasses import dataclass

from shared.contracts import Category


@dataclass(frozen=True)
class Destination:
    code: str
    name: str
    answer_days: int = 5  # working days for the agency to accept or reject
    service_days: int = 14  # working days from acceptance to the end of the service


BPJS = Destination("bpjs_dinkes", "BPJS Kesehatan / Dinas Kesehatan", 3, 14)
HOSPITAL = Destination("rumah_sakit", "Rumah sakit rujukan", 1, 7)
DTKS_ADMIN = Destination("dinsos_dtks", "Operator DTKS Dinas Sosial", 5, 30)
PKH = Destination("pkh", "Koordinator PKH kabupaten", 5, 30)
BPNT = Destination("bpnt", "Koordinator BPNT/Sembako", 5, 30)
PIP = Destination("pip", "Dinas Pendidikan (PIP/KIP)", 5, 30)
PERKIM = Destination("perkim", "Dinas Perumahan dan Kawasan Permukiman (RTLH)", 10, 60)
ATENSI = Destination("atensi", "Layanan ATENSI Kementerian Sosial", 5, 20)
TRIAGE = Destination("triase", "Antrean triase Sekretariat SLRT", 2, 5)

DESTINATIONS = {d.code: d for d in (BPJS, HOSPITAL, DTKS_ADMIN, PKH, BPNT, PIP, PERKIM, ATENSI)}
ALL_DESTINATIONS = {**DESTINATIONS, TRIAGE.code: TRIAGE}

DEFAULT_ROUTES: dict[Category, tuple[Destination, ...]] = {
    Category.PBI_REACTIVATION: (BPJS,),
    Category.PBI_ENROLMENT: (BPJS,),
    # In hospital without active cover: the hospital now, and the cover behind it.
    Category.HEALTH_EMERGENCY: (HOSPITAL, BPJS),
    Category.DTKS_REGISTRATION: (DTKS_ADMIN,),
    Category.DTKS_CORRECTION: (DTKS_ADMIN,),
    Category.PKH: (PKH,),
    Category.BPNT: (BPNT,),
    Category.PIP: (PIP,),
    Category.RTLH: (PERKIM,),
    Category.ATENSI: (ATENSI,),
    Category.OTHER: (TRIAGE,),
}


def route(category: Category, *, identity_consistent: bool) -> tuple[Destination, ...]:
    """Where a case at the district goes. An identity to correct first goes to triage."""
    if not identity_consistent:
        return (TRIAGE,)
    return DEFAULT_ROUTES.get(category, (TRIAGE,))


def destination(code: str) -> Destination:
    return ALL_DESTINATIONS[code]
