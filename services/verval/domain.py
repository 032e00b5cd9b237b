"""Verval's rules for judging a registered identity. No I/O.

Until registry snapshots are imported (the verval issue), the check is what the NIK itself
can tell: whether its parts are possible and agree with the stated birth date and sex, and
whether it was issued in this district.
"""

from dataclasses import dataclass, field

from shared.contracts import Person
from shared.identity import NikError, nik_disagreements, parse_nik


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
