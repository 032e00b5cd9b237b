"""The NIK structure rules, checked on every kind of date and serial hypothesis can think of."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts import Sex
from shared.identity import NikError, check_kk, mask_nik, nik_disagreements, parse_nik

TODAY = date(2026, 11, 23)


def make_nik(area: str, born: date, sex: Sex, serial: int) -> str:
    day = born.day + (40 if sex is Sex.FEMALE else 0)
    return f"{area}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


@given(
    born=st.dates(min_value=date(1927, 1, 1), max_value=TODAY),
    sex=st.sampled_from(list(Sex)),
    serial=st.integers(1, 9999),
)
def test_a_well_formed_nik_gives_back_birth_date_and_sex(born: date, sex: Sex, serial: int) -> None:
    facts = parse_nik(make_nik("331701", born, sex, serial), today=TODAY)
    assert facts.birth_date == born
    assert facts.sex is sex
    assert facts.regency == "33.17"
    assert facts.district == "33.17.01"
    assert facts.serial == f"{serial:04d}"


@given(born=st.dates(min_value=date(1930, 1, 1), max_value=TODAY), serial=st.integers(1, 9999))
def test_stated_sex_that_contradicts_the_nik_is_reported(born: date, serial: int) -> None:
    nik = make_nik("331701", born, Sex.FEMALE, serial)
    assert nik_disagreements(nik, birth_date=born, sex=Sex.FEMALE) == []
    problems = nik_disagreements(nik, birth_date=born, sex=Sex.MALE)
    assert len(problems) == 1 and "jenis kelamin" in problems[0]


@given(text=st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_any_sixteen_digits_are_either_parsed_or_refused_with_a_message(text: str) -> None:
    try:
        facts = parse_nik(text, today=TODAY)
    except NikError as exc:
        assert str(exc).startswith("NIK")
    else:
        assert facts.birth_date <= TODAY


@pytest.mark.parametrize(
    ("nik", "part"),
    [
        ("331701450785001", "16 angka"),
        ("33170145078500a1", "16 angka"),
        ("9917014507850001", "provinsi"),
        ("3300014507850001", "00"),
        ("3317013213850001", "tanggal lahir"),  # day 32
        ("3317017202850001", "tanggal lahir"),  # woman, 32 February
        ("3317010229850001", "tanggal lahir"),  # month 29
        ("3317014507850000", "nomor urut"),
    ],
)
def test_impossible_parts_are_named(nik: str, part: str) -> None:
    with pytest.raises(NikError, match=part):
        parse_nik(nik, today=TODAY)


def test_leap_day_only_in_leap_years() -> None:
    assert parse_nik("3317012902000001", today=TODAY).birth_date == date(2000, 2, 29)
    with pytest.raises(NikError):
        parse_nik("3317012902010001", today=TODAY)


def test_two_digit_year_never_lands_in_the_future() -> None:
    assert parse_nik("3317010101300001", today=TODAY).birth_date == date(1930, 1, 1)
    assert parse_nik("3317010101250001", today=TODAY).birth_date == date(2025, 1, 1)


def test_mask_hides_birth_date_part() -> None:
    assert mask_nik("3317014507850001") == "331701******0001"


@given(issued=st.dates(min_value=date(1975, 1, 1), max_value=TODAY), serial=st.integers(1, 9999))
def test_a_well_formed_kk_is_accepted(issued: date, serial: int) -> None:
    kk = f"331701{issued:%d%m%y}{serial:04d}"
    assert check_kk(kk, today=TODAY) == kk


@pytest.mark.parametrize(
    "kk", ["331701020304000", "9917010203040005", "3317003203040005", "3317010299040005"]
)
def test_impossible_kk_numbers_are_refused(kk: str) -> None:
    with pytest.raises(NikError, match="KK"):
        check_kk(kk, today=TODAY)
