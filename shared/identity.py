"""Identity formats: the national ID number (NIK) as Dukcapil issues it, and phone numbers.

16 digits: province, regency and sub-district of issue (2 digits each), the birth date as
DDMMYY with 40 added to the day for women, and a serial 0001-9999. A NIK whose parts are
impossible is a typo, not a person. Intake validates with this and verval checks with it,
so both read the number the same way.
"""

import functools
import re
from datetime import date
from typing import NamedTuple

from shared.contracts import Sex

# Province codes in use (Kemendagri), including the Papua provinces created in 2022.
PROVINCE_CODES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "21",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "51",
        "52",
        "53",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "72",
        "73",
        "74",
        "75",
        "76",
        "81",
        "82",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
    }
)
FEMALE_DAY_OFFSET = 40


class NikError(ValueError):
    """A NIK that cannot be a real one; the message says which part is wrong."""


class NikFacts(NamedTuple):
    province: str
    regency: str  # "33.17", the Kemendagri way
    district: str  # "33.17.01"
    birth_date: date
    sex: Sex
    serial: str


def parse_nik(nik: str, *, today: date | None = None) -> NikFacts:
    """Read the parts of a NIK, or raise NikError saying (in Bahasa Indonesia) what is wrong."""
    birth_date, sex = _checked(nik, today or date.today())
    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    return NikFacts(
        province=province,
        regency=f"{province}.{regency}",
        district=f"{province}.{regency}.{district}",
        birth_date=birth_date,
        sex=sex,
        serial=nik[12:16],
    )


def check_nik(nik: str, *, today: date | None = None) -> str:
    """The NIK if it can be a real one, else NikError: parse_nik without reading the parts
    out, for a registry import that checks millions."""
    _checked(nik, today or date.today())
    return nik


def _checked(nik: str, today: date) -> tuple[date, Sex]:
    if len(nik) != 16 or not nik.isdigit():
        raise NikError("NIK harus 16 angka")
    if nik[0:2] not in PROVINCE_CODES:
        raise NikError(f"NIK: kode provinsi {nik[0:2]} tidak ada")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise NikError("NIK: kode kabupaten/kecamatan tidak boleh 00")
    born = _born(nik[6:12], today)
    if nik[12:16] == "0000":
        raise NikError("NIK: nomor urut 0000 tidak ada")
    return born


@functools.lru_cache(maxsize=65_536)
def _born(ddmmyy: str, today: date) -> tuple[date, Sex]:
    """The birth date and sex a NIK's digits 7-12 say. Cached: an import of a district's
    registry reads a few tens of thousands of distinct values millions of times."""
    day, month, year2 = int(ddmmyy[0:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
    if day > FEMALE_DAY_OFFSET:
        return _birth_date(day - FEMALE_DAY_OFFSET, month, year2, today), Sex.FEMALE
    return _birth_date(day, month, year2, today), Sex.MALE


def _birth_date(day: int, month: int, year2: int, today: date) -> date:
    # Two-digit years: the latest century that does not put the birth in the future.
    year = 2000 + year2 if 2000 + year2 <= today.year else 1900 + year2
    try:
        born = date(year, month, day)
    except ValueError:
        raise NikError("NIK: bagian tanggal lahir (digit 7-12) bukan tanggal yang ada") from None
    if born > today:
        born = date(year - 100, month, day)
    return born


def check_kk(kk: str, *, today: date | None = None) -> str:
    """A family card (KK) number: the issuing area like a NIK's, then the issue date DDMMYY
    and a serial. Returns it, or raises NikError saying which part is impossible."""
    if len(kk) != 16 or not kk.isdigit():
        raise NikError("Nomor KK harus 16 angka")
    if kk[0:2] not in PROVINCE_CODES or kk[2:4] == "00" or kk[4:6] == "00":
        raise NikError("Nomor KK: kode wilayah (digit 1-6) tidak ada")
    kk_issued_on(kk, today=today)
    return kk


def kk_issued_on(kk: str, *, today: date | None = None) -> date:
    """The date a KK was issued, from its digits 7-12 (DDMMYY)."""
    try:
        return _birth_date(int(kk[6:8]), int(kk[8:10]), int(kk[10:12]), today or date.today())
    except NikError:
        raise NikError(
            "Nomor KK: bagian tanggal terbit (digit 7-12) bukan tanggal yang ada"
        ) from None


def nik_disagreements(nik: str, *, birth_date: date, sex: Sex) -> list[str]:
    """What the stated birth date and sex contradict in the NIK (empty if they agree)."""
    facts = parse_nik(nik)
    problems = []
    if (facts.birth_date.day, facts.birth_date.month, facts.birth_date.year % 100) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        problems.append(
            f"tanggal lahir {birth_date:%d-%m-%Y} tidak sesuai dengan NIK "
            f"({facts.birth_date:%d-%m-%y})"
        )
    if facts.sex is not sex:
        problems.append("jenis kelamin tidak sesuai dengan NIK (perempuan: tanggal +40)")
    return problems


def mask_nik(nik: str) -> str:
    """Shown to roles that need to recognise a NIK but not read it: area and serial only."""
    return f"{nik[:6]}******{nik[-4:]}" if len(nik) == 16 else "****"


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
