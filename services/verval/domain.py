"""Verval's rules for judging a registered identity. No I/O.

First what the NIK itself can tell (its parts are possible and agree with the stated birth
date and sex; it was issued in this district), then, once a civil-registry snapshot is
imported, the person against Dukcapil's record: field by field, or, when the NIK is not
there, the people born that day in that kecamatan whose names are close.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from rapidfuzz import fuzz

from services.verval.proposals import (
    PROPOSED_PROGRAM,
    WINDOWS,
    batch_month,
    window_days,
    window_key,
)
from shared.contracts import Category, Person, ProposalWindow, category_label
from shared.identity import NikError, kk_issued_on, nik_disagreements, parse_nik


@dataclass(frozen=True)
class Assessment:
    identity_consistent: bool
    findings: list[str] = field(default_factory=list)


def assess_identity(person: Person, *, kabupaten_code: str) -> Assessment:
    """Judge a registered person by their NIK; findings are in Bahasa Indonesia for the village."""
    try:
        facts = parse_nik(person.nik)
    except NikError as exc:
        return Assessment(False, [str(exc)])
    problems = nik_disagreements(person.nik, birth_date=person.birth_date, sex=person.sex)
    findings = list(problems)
    if facts.regency != kabupaten_code:
        findings.append(
            f"NIK diterbitkan di kabupaten {facts.regency}, bukan {kabupaten_code}: "
            "periksa domisili"
        )
    return Assessment(identity_consistent=not problems, findings=findings)


# Spellings of one name that Dukcapil and a village write differently.
NAME_FORMS = {
    "muhamad": "muhammad", "muhammad": "muhammad", "moh": "muhammad", "mochammad": "muhammad",
    "mohammad": "muhammad", "mohamad": "muhammad", "muh": "muhammad", "mhd": "muhammad",
    "achmad": "ahmad", "akhmad": "ahmad", "ahmad": "ahmad", "sity": "siti", "nurul": "nur",
}  # fmt: skip
TITLES = frozenset({"h", "hj", "dr", "drg", "ir", "s", "sos", "ked", "pd", "kom", "se"})
NAME_THRESHOLD = 88  # rapidfuzz token ratio (0-100) above which two names are one name
CANDIDATE_THRESHOLD = 70


# Punctuation and digits become spaces (str.translate: this runs for every imported row).
_NOT_LETTERS = str.maketrans({c: " " for c in ".,'`-/()0123456789"})


def name_key(name: str) -> str:
    """A name as matching sees it: lower case, no titles or punctuation, one spelling."""
    words = name.lower().translate(_NOT_LETTERS).split()
    return " ".join(NAME_FORMS.get(w, w) for w in words if w not in TITLES)


def name_similarity(a: str, b: str) -> float:
    return float(fuzz.token_sort_ratio(name_key(a), name_key(b)))


class Outcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    DECEASED = "deceased"
    NO_REGISTRY = "no_registry"  # no civil snapshot imported yet


FIELD_LABELS = {"name": "nama", "birth_date": "tanggal lahir", "birth_place": "tempat lahir",
                "sex": "jenis kelamin", "desa": "desa domisili"}  # fmt: skip
PLACE_WORDS = frozenset({"kab", "kabupaten", "kota", "kec", "kecamatan", "desa", "kel"})
PLACE_THRESHOLD = 85


@dataclass(frozen=True)
class Candidate:
    nik: str
    name: str
    score: float


@dataclass(frozen=True)
class IdentityCheck:
    outcome: Outcome
    mismatched: list[str] = field(default_factory=list)  # FIELD_LABELS keys
    candidates: list[Candidate] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # what Dukcapil itself must fix

    def findings(self) -> list[str]:
        """What the village tells the citizen to fix at Dukcapil, in Bahasa Indonesia."""
        return self._own_findings() + self.extra

    def _own_findings(self) -> list[str]:
        if self.outcome is Outcome.MISMATCH:
            fields = ", ".join(FIELD_LABELS[f] for f in self.mismatched)
            return [f"Data berbeda dengan Dukcapil: {fields}. Perbaiki di Dukcapil atau di desa."]
        if self.outcome is Outcome.NOT_FOUND:
            found = (
                f"; mungkin NIK {', '.join(c.nik[-4:] for c in self.candidates)} (4 angka akhir)"
            )
            return ["NIK tidak ditemukan di data Dukcapil" + (found if self.candidates else "")]
        if self.outcome is Outcome.DECEASED:
            return ["Menurut Dukcapil orang ini sudah meninggal: periksa KK dan data keluarga"]
        return []


@dataclass(frozen=True)
class Presented:
    """What the desk wrote down about the person."""

    name: str
    birth_date: date
    sex: str
    desa_code: str
    birth_place: str = ""  # empty: the desk did not record it, so it is not compared


def same_place(a: str, b: str) -> bool:
    """`Kab. Rembang` and `REMBANG` are one place; a typo of a letter or two still is."""
    return fuzz.ratio(place_key(a), place_key(b)) >= PLACE_THRESHOLD


def place_key(place: str) -> str:
    words = place.lower().translate(_NOT_LETTERS).split()
    return " ".join(w for w in words if w not in PLACE_WORDS)


def compare(presented: Presented, record: "CivilLike") -> IdentityCheck:
    """Field by field: name after normalisation and fuzzy similarity, birth date and place,
    sex, desa."""
    if not record.alive:
        return IdentityCheck(Outcome.DECEASED)
    mismatched = []
    if name_similarity(presented.name, record.name) < NAME_THRESHOLD:
        mismatched.append("name")
    if presented.birth_date != record.birth_date:
        mismatched.append("birth_date")
    if presented.birth_place and not same_place(presented.birth_place, record.birth_place):
        mismatched.append("birth_place")
    if presented.sex != record.sex:
        mismatched.append("sex")
    if presented.desa_code != record.desa_code:
        mismatched.append("desa")
    return IdentityCheck(Outcome.MISMATCH if mismatched else Outcome.MATCH, mismatched)


def second_niks(presented: Presented, nik: str, pool: Sequence["CivilLike"]) -> list[str]:
    """The same living person under another NIK in the civil registry (born the same day in
    the same kecamatan, same sex, the same name): Dukcapil must retire one of them."""
    return [
        f"Kemungkinan NIK ganda di Dukcapil: orang yang sama juga tercatat dengan NIK "
        f"berakhiran {r.nik[-4:]}. Minta Dukcapil menonaktifkan salah satunya."
        for r in pool
        if r.nik != nik
        and r.alive
        and r.sex == presented.sex
        and name_similarity(presented.name, r.name) >= NAME_THRESHOLD
    ]


def candidates(presented: Presented, pool: Sequence["CivilLike"], top: int = 3) -> list[Candidate]:
    """People born the same day in the same kecamatan whose name is close, best first."""
    scored = [
        Candidate(r.nik, r.name, round(name_similarity(presented.name, r.name), 1))
        for r in pool
        if r.alive
    ]
    good = [c for c in scored if c.score >= CANDIDATE_THRESHOLD]
    return sorted(good, key=lambda c: -c.score)[:top]


class CivilLike(Protocol):
    nik: str
    name: str
    birth_place: str
    birth_date: date
    sex: str
    desa_code: str
    alive: bool


@dataclass(frozen=True)
class ProgramFacts:
    """What DTKS and the program extracts say, as referral and the village need it."""

    in_dtks: bool | None  # None: no DTKS snapshot imported
    id_dtks: str | None = None
    desil: int | None = None
    active_programs: list[str] = field(default_factory=list)
    pbi_active: bool | None = None
    pbi_inactive_since: date | None = None
    arrears: int = 0

    def findings(self, category: Category) -> list[str]:
        """What applies to this complaint, said before anyone travels for nothing."""
        found = []
        if category is Category.DTKS_REGISTRATION and self.in_dtks:
            found.append(f"Sudah terdaftar di DTKS (ID-DTKS {self.id_dtks}): tidak perlu diusulkan")
        if category is Category.PBI_REACTIVATION:
            if self.pbi_active:
                found.append("PBI-JK masih aktif: tidak perlu reaktivasi")
            elif self.pbi_inactive_since is not None:
                found.append(f"PBI-JK tidak aktif sejak {self.pbi_inactive_since:%d-%m-%Y}")
            if self.in_dtks and self.id_dtks:
                found.append(
                    f"Surat rekomendasi reaktivasi wajib mencantumkan ID-DTKS {self.id_dtks}"
                )
        if self.arrears > 0 and category in (Category.PBI_ENROLMENT, Category.PBI_REACTIVATION):
            found.append(
                f"Ada tunggakan BPJS mandiri Rp {self.arrears:,}".replace(",", ".")
                + " yang harus dilunasi sebelum didaftarkan PBI"
            )
        return found


class DtksLike(Protocol):
    id_dtks: str
    desil: int


class MembershipLike(Protocol):
    program: str
    active: bool
    since: date | None
    arrears: int


def program_facts(
    dtks: DtksLike | None, memberships: Sequence[MembershipLike], *, dtks_loaded: bool
) -> ProgramFacts:
    pbi = next((m for m in memberships if m.program == "PBI-JK"), None)
    return ProgramFacts(
        in_dtks=(dtks is not None) if dtks_loaded else None,
        id_dtks=dtks.id_dtks if dtks else None,
        desil=dtks.desil if dtks else None,
        active_programs=sorted({m.program for m in memberships if m.active}),
        pbi_active=pbi.active if pbi else None,
        pbi_inactive_since=pbi.since if pbi and not pbi.active else None,
        arrears=sum(m.arrears for m in memberships),
    )


def window_for(category: Category, in_dtks: bool | None, today: date) -> ProposalWindow | None:
    """The window a proposal for this complaint goes in, and when it is next open."""
    program = PROPOSED_PROGRAM.get(category)
    if program is None:
        return None
    key = window_key(program, in_dtks)
    opens, closes = window_days(key, batch_month(key, today))
    return ProposalWindow(
        name=WINDOWS[key][0], open_now=opens <= today <= closes, opens_on=opens, closes_on=closes
    )


def window_advice(window: ProposalWindow | None) -> list[str]:
    if window is None:
        return []
    if window.open_now:
        return [f"{window.name}: jadwal buka sampai {window.closes_on:%d-%m-%Y}"]
    return [
        f"{window.name}: jadwal sedang tutup, usulan masuk jadwal {window.opens_on:%d-%m-%Y}"
        f" sampai {window.closes_on:%d-%m-%Y}"
    ]


class MemberLike(Protocol):
    nik: str
    alive: bool
    death_date: date | None


def household_findings(
    kk: str, members: Sequence[MemberLike], programs: dict[str, set[str]]
) -> list[str]:
    """What the family card says beyond the person: a death recorded after the KK was
    issued (the KK was never renewed, which blocks aid), and living members left out of a
    program (PBI-JK) the rest of the household has."""
    found = []
    issued = kk_issued_on(kk)
    if any(m.death_date and m.death_date > issued for m in members if not m.alive):
        found.append(
            "Ada anggota keluarga yang meninggal sesudah KK terbit: KK perlu diperbarui di "
            "Dukcapil (kepala keluarga baru bila perlu) agar bantuan tidak terhenti"
        )
    living = [m for m in members if m.alive]
    covered = [m for m in living if "PBI-JK" in programs.get(m.nik, set())]
    if covered and len(covered) < len(living):
        left_out = len(living) - len(covered)
        found.append(f"{left_out} anggota keluarga belum tercakup PBI-JK yang diikuti anggota lain")
    return found


# Cases about one person this close together are probably one need registered twice.
DUPLICATE_WINDOW_DAYS = 90


@dataclass(frozen=True)
class EarlierCase:
    registration_number: str
    desa_code: str
    category: str


def person_key(nik: str) -> str:
    """A digest of the NIK to find a person's cases without keeping the NIK itself."""
    return hashlib.sha256(f"slrt-person:{nik}".encode()).hexdigest()[:32]


def duplicate_findings(earlier: Sequence[EarlierCase]) -> list[str]:
    """Say so, never merge: the secretariat decides which case goes on."""
    return [
        f"Kemungkinan kasus ganda: orang yang sama juga terdaftar dengan nomor "
        f"{case.registration_number or '(tanpa nomor)'} (desa {case.desa_code}, "
        f"{category_label(case.category)}). Periksa sebelum dirujuk; kasus tidak digabung."
        for case in earlier
    ]
