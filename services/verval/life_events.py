"""Life events that change a DTKS household, and the proposal each one needs. No I/O.

Verval compares the current DTKS with the current civil registry (Dukcapil) after either is
imported. Where they disagree, something happened to the family: a member died, the head of
household died, Dukcapil issued a new KK, someone turned 17 without recording their e-KTP,
someone left the district. Each becomes a correction or removal proposal the village drafts,
so nobody is dropped from DTKS silently and no family loses its programs with its head.
A household that became better off is not in any registry: the village proposes its removal
by hand, with the reason (proposal_service.propose).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.verval.proposals import Kind

ADULT_AGE = 17  # the age an e-KTP must be recorded at
SPOUSES = ("ISTRI", "SUAMI")
FAMILY_PROGRAMS = ("PKH", "BPNT")  # held in the head's name for the whole family


class Resident(Protocol):
    """What the rules read of a civil-registry record (registry.CivilRecord)."""

    nik: str
    kk: str
    name: str
    birth_date: date
    desa_code: str
    alive: bool
    death_date: date | None
    relationship: str
    ektp: bool | None

    @property
    def heads_household(self) -> bool: ...


@dataclass(frozen=True)
class LifeEvent:
    key: str  # the same event found again opens no second proposal
    kind: Kind
    nik: str  # whom the proposal is about
    reason: str  # what the village reads on the proposal


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def born_by(today: date, years: int = ADULT_AGE) -> date:
    """The latest birth date of someone `years` old today (29 February: the 28th)."""
    leap_day = (today.month, today.day) == (2, 29)
    return today.replace(year=today.year - years, day=28 if leap_day else today.day)


def successor(family: Sequence[Resident], today: date) -> Resident | None:
    """Who heads the family once the head died: the living spouse, else the oldest living
    member of 17 or over; nobody if only children are left."""
    living = [m for m in family if m.alive and not m.heads_household]
    spouses = [m for m in living if m.relationship in SPOUSES]
    adults = sorted(
        (m for m in living if age_on(m.birth_date, today) >= ADULT_AGE),
        key=lambda m: m.birth_date,
    )
    heirs = spouses or adults
    return heirs[0] if heirs else None


def _died(person: Resident) -> str:
    when = f" pada {person.death_date:%d-%m-%Y}" if person.death_date else ""
    return f"{person.name} meninggal dunia{when} menurut Dukcapil"


def death(
    person: Resident, family: Sequence[Resident], programs: Sequence[str], today: date
) -> LifeEvent:
    """A DTKS member died. When it was the head, the family names a new head and keeps the
    programs the head held for it."""
    heir = successor(family, today) if person.heads_household else None
    if heir is None:
        return LifeEvent(
            f"meninggal:{person.nik}",
            Kind.REMOVAL,
            person.nik,
            f"{_died(person)}: hapus dari DTKS. Anggota keluarga lain tetap terdaftar.",
        )
    kept = f"program keluarga ({', '.join(programs)}) tetap, " if programs else ""
    return LifeEvent(
        f"kepala:{person.nik}",
        Kind.CORRECTION,
        heir.nik,
        f"Kepala keluarga {_died(person)}. {heir.name} ({heir.relationship.lower()}) "
        f"diusulkan menjadi kepala keluarga; {kept}dialihkan kepadanya; almarhum dihapus "
        "dari DTKS.",
    )


def renewed_kk(dtks_kk: str, members: Sequence[Resident]) -> LifeEvent | None:
    """Dukcapil issued the family a new KK that DTKS does not have yet: one correction for
    the household, in its head's name."""
    moved = [m for m in members if m.alive and m.kk != dtks_kk]
    if not moved:
        return None
    subject = next((m for m in moved if m.heads_household), moved[0])
    return LifeEvent(
        f"kk:{dtks_kk}:{subject.kk}",
        Kind.CORRECTION,
        subject.nik,
        "Dukcapil sudah menerbitkan KK baru untuk keluarga ini, DTKS masih mencatat KK lama: "
        "perbarui nomor KK di DTKS.",
    )


def without_ektp(person: Resident, today: date) -> LifeEvent | None:
    """17 or over and no e-KTP recorded: their record will stop matching Dukcapil's."""
    age = age_on(person.birth_date, today)
    if not person.alive or person.ektp is not False or age < ADULT_AGE:
        return None
    return LifeEvent(
        f"ektp:{person.nik}",
        Kind.CORRECTION,
        person.nik,
        f"{person.name} sudah {age} tahun tetapi belum rekam KTP-el: ajak rekam di Dukcapil, "
        "lalu perbarui datanya di DTKS agar tidak dinonaktifkan karena tidak padan.",
    )


def left_district(nik: str, last_known: Resident) -> LifeEvent:
    """In DTKS but no longer in the district's civil registry: moved away (or out of it)."""
    return LifeEvent(
        f"pindah:{nik}",
        Kind.REMOVAL,
        nik,
        f"{last_known.name} tidak ada lagi di data Dukcapil kabupaten ini (pindah keluar "
        "daerah?): pastikan, lalu usulkan penghapusan dari DTKS di sini; DTKS daerah "
        "tujuan mendaftarkannya kembali.",
    )


def moved_within(dtks_kk: str, movers: Sequence[Resident], came_from: str) -> LifeEvent:
    """A DTKS family moved to another desa of the district: one correction of its address,
    for the village it lives in now, in its head's name."""
    subject = next((m for m in movers if m.heads_household), movers[0])
    return LifeEvent(
        f"pindah-desa:{dtks_kk}:{subject.desa_code}",
        Kind.CORRECTION,
        subject.nik,
        f"Keluarga ini pindah dari desa {came_from} ke desa ini menurut Dukcapil: perbarui "
        "alamat dan desanya di DTKS.",
    )


def household_events(
    dtks_kk: str,
    members: Sequence[Resident],
    family: Sequence[Resident],
    head_programs: Sequence[str],
    today: date,
) -> list[LifeEvent]:
    """The life events of one DTKS household whose members are still in the civil registry
    (`members`); `family` is everyone on the KK of a head who died, `head_programs` what the
    head held for the family."""
    events = [death(m, family, head_programs, today) for m in members if not m.alive]
    events += [e for m in members if (e := without_ektp(m, today))]
    kk = renewed_kk(dtks_kk, members)
    return events + ([kk] if kk else [])
