"""Referral's routing: which programs or agencies a case at the district goes to. No I/O.

A district edits its destinations (contact, channel, target days) and its rules on the
settings page; these national defaults are what a new district starts with. A rule names a
category and, optionally, whether the person is in DTKS, a highest desil, a program the
person must not already have, and whether the case is urgent; every rule that fits a case
adds its destination. A case no rule fits, or whose identity
must first be corrected, goes to the secretariat's triage queue: never nowhere.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.contracts import Category


class Channel(StrEnum):
    """How the secretariat reaches a destination."""

    APPLICATION = "aplikasi"  # the liaison works in these pages
    EMAIL = "email"
    LETTER = "surat"
    PHONE = "telepon"


@dataclass(frozen=True)
class Destination:
    code: str
    name: str
    answer_days: int = 5  # working days for the agency to accept or reject
    service_days: int = 14  # working days from acceptance to the end of the service
    contact: str = ""
    channel: Channel = Channel.APPLICATION
    active: bool = True


BPJS = Destination("bpjs_dinkes", "BPJS Kesehatan / Dinas Kesehatan", 3, 14)
HOSPITAL = Destination("rumah_sakit", "Rumah sakit rujukan", 1, 7)
DTKS_ADMIN = Destination("dinsos_dtks", "Operator DTKS Dinas Sosial", 5, 30)
PKH = Destination("pkh", "Koordinator PKH kabupaten", 5, 30)
BPNT = Destination("bpnt", "Koordinator BPNT/Sembako", 5, 30)
PIP = Destination("pip", "Dinas Pendidikan (PIP/KIP)", 5, 30)
PERKIM = Destination("perkim", "Dinas Perumahan dan Kawasan Permukiman (RTLH)", 10, 60)
ATENSI = Destination("atensi", "Layanan ATENSI Kementerian Sosial", 5, 20)
VILLAGE = Destination("desa", "Pemerintah desa (ditangani desa)", 5, 10)
TRIAGE = Destination("triase", "Antrean triase Sekretariat SLRT", 2, 5)

DEFAULT_DESTINATIONS = (BPJS, HOSPITAL, DTKS_ADMIN, PKH, BPNT, PIP, PERKIM, ATENSI, VILLAGE, TRIAGE)
HEALTH_COVER = BPJS.code  # referrals whose outcome includes a KIS card
# Destinations inside the village need no consent to share data outside it.
INSIDE_VILLAGE = frozenset({VILLAGE.code, TRIAGE.code})


@dataclass(frozen=True)
class Rule:
    """A district's rule; a condition left None holds for every case."""

    category: Category
    destination: str
    in_dtks: bool | None = None
    urgent: bool | None = None
    max_desil: int | None = None  # only households at or below this DTKS desil
    lacks_program: str | None = None  # only people not already in this program

    def fits(self, facts: "Facts") -> bool:
        return (
            self.category is facts.category
            and (self.in_dtks is None or self.in_dtks == facts.in_dtks)
            and (self.urgent is None or self.urgent == facts.urgent)
            and (
                self.max_desil is None
                or (facts.desil is not None and facts.desil <= self.max_desil)
            )
            and (self.lacks_program is None or self.lacks_program not in facts.programs)
        )


@dataclass(frozen=True)
class Facts:
    """What routing may look at: the complaint and verval's findings."""

    category: Category
    identity_consistent: bool
    in_dtks: bool | None = None
    urgent: bool = False
    desil: int | None = None
    programs: frozenset[str] = frozenset()


DEFAULT_RULES = (
    Rule(Category.PBI_REACTIVATION, BPJS.code),
    Rule(Category.PBI_ENROLMENT, BPJS.code),
    # Not in DTKS yet: enrolment needs a DTKS proposal too.
    Rule(Category.PBI_ENROLMENT, DTKS_ADMIN.code, in_dtks=False),
    # In hospital without active cover: the hospital now, and the cover behind it.
    Rule(Category.HEALTH_EMERGENCY, HOSPITAL.code),
    Rule(Category.HEALTH_EMERGENCY, BPJS.code),
    Rule(Category.DTKS_REGISTRATION, DTKS_ADMIN.code),
    Rule(Category.DTKS_CORRECTION, DTKS_ADMIN.code),
    Rule(Category.PKH, PKH.code),
    Rule(Category.BPNT, BPNT.code),
    Rule(Category.PIP, PIP.code),
    Rule(Category.RTLH, PERKIM.code),
    Rule(Category.ATENSI, ATENSI.code),
)


def route(
    facts: Facts, rules: list[Rule], destinations: dict[str, Destination]
) -> tuple[Destination, ...]:
    """Every active destination a fitting rule names, in rule order; else triage."""
    if not facts.identity_consistent:
        return (destinations.get(TRIAGE.code, TRIAGE),)
    chosen: list[Destination] = []
    for rule in rules:
        target = destinations.get(rule.destination)
        if rule.fits(facts) and target is not None and target.active and target not in chosen:
            chosen.append(target)
    return tuple(chosen) or (destinations.get(TRIAGE.code, TRIAGE),)
