"""Verval's matching rules, without a database: names, fields, candidates, program facts."""

from datetime import date
from types import SimpleNamespace

import pytest

from services.verval.domain import (
    Outcome,
    Presented,
    candidates,
    compare,
    household_findings,
    name_key,
    name_similarity,
    program_facts,
    window_for,
)
from shared.contracts import Category


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Muhammad Rizki", "Muhamad Rizki"),
        ("Moh. Rizki", "MUHAMMAD RIZKI"),
        ("Achmad Fauzi", "Ahmad Fauzi"),
        ("Hj. Siti Aminah", "Sity Aminah"),
        ("Aminah Siti", "Siti Aminah"),
    ],
)
def test_spellings_of_one_name_are_one_name(a: str, b: str) -> None:
    assert name_similarity(a, b) >= 88, (name_key(a), name_key(b))


def test_different_people_are_not_one_name() -> None:
    assert name_similarity("Siti Aminah", "Sri Wahyuni") < 70


RECORD = SimpleNamespace(
    nik="3317014507850001",
    name="Siti Aminah",
    birth_place="REMBANG",
    birth_date=date(1985, 7, 5),
    sex="P",
    desa_code="33.17.01.2001",
    alive=True,
)
AT_DESK = Presented("Sity Aminah", date(1985, 7, 5), "P", "33.17.01.2001")


def test_a_spelling_variant_still_matches() -> None:
    assert compare(AT_DESK, RECORD).outcome is Outcome.MATCH


def test_each_differing_field_is_named_for_the_village() -> None:
    moved = Presented("Siti Aminah", date(1985, 8, 5), "P", "33.17.14.2008")
    check = compare(moved, RECORD)
    assert (check.outcome, check.mismatched) == (Outcome.MISMATCH, ["birth_date", "desa"])
    assert "tanggal lahir, desa domisili" in check.findings()[0]


def test_the_birth_place_is_compared_when_the_desk_wrote_it_down() -> None:
    written = Presented("Siti Aminah", date(1985, 7, 5), "P", "33.17.01.2001", "Kab. Rembang")
    assert compare(written, RECORD).outcome is Outcome.MATCH
    typo = Presented("Siti Aminah", date(1985, 7, 5), "P", "33.17.01.2001", "Rembag")
    assert compare(typo, RECORD).outcome is Outcome.MATCH
    elsewhere = Presented("Siti Aminah", date(1985, 7, 5), "P", "33.17.01.2001", "Blora")
    check = compare(elsewhere, RECORD)
    assert check.mismatched == ["birth_place"] and "tempat lahir" in check.findings()[0]


def test_a_deceased_person_is_said_so() -> None:
    dead = SimpleNamespace(**{**vars(RECORD), "alive": False})
    check = compare(AT_DESK, dead)
    assert check.outcome is Outcome.DECEASED and "meninggal" in check.findings()[0]


def test_candidates_are_close_names_best_first() -> None:
    pool = [
        SimpleNamespace(**{**vars(RECORD), "nik": "3317014507850002", "name": "Sri Wahyuni"}),
        RECORD,
        SimpleNamespace(**{**vars(RECORD), "nik": "3317014507850003", "name": "Siti Aminah Sari"}),
    ]
    found = candidates(AT_DESK, pool)
    assert [c.nik for c in found] == ["3317014507850001", "3317014507850003"]


def _member(program: str, active: bool, since: date | None = None, arrears: int = 0) -> object:
    return SimpleNamespace(program=program, active=active, since=since, arrears=arrears)


def test_the_three_wasted_trips_are_caught_before_anyone_travels() -> None:
    dtks = SimpleNamespace(id_dtks="DTKS-001", desil=1)
    inactive = [_member("PBI-JK", False, date(2026, 3, 1))]
    facts = program_facts(dtks, inactive, dtks_loaded=True)
    assert facts.in_dtks and facts.pbi_active is False
    already = facts.findings(Category.DTKS_REGISTRATION)
    assert already == ["Sudah terdaftar di DTKS (ID-DTKS DTKS-001): tidak perlu diusulkan"]
    reactivation = facts.findings(Category.PBI_REACTIVATION)
    assert "PBI-JK tidak aktif sejak 01-03-2026" in reactivation
    assert any("ID-DTKS DTKS-001" in line for line in reactivation)
    owing = program_facts(None, [_member("JKN", False, arrears=1_200_000)], dtks_loaded=True)
    assert owing.in_dtks is False
    assert "Rp 1.200.000" in owing.findings(Category.PBI_ENROLMENT)[0]
    unknown = program_facts(None, [], dtks_loaded=False)
    assert unknown.in_dtks is None and unknown.findings(Category.PBI_ENROLMENT) == []


D = date
WINDOW_CASES = [
    # category, in DTKS, today -> open now, opens, closes
    (Category.PBI_REACTIVATION, True, D(2026, 3, 11), True, D(2026, 3, 1), D(2026, 3, 11)),
    (Category.PBI_REACTIVATION, True, D(2026, 3, 12), False, D(2026, 4, 1), D(2026, 4, 11)),
    (Category.PBI_ENROLMENT, False, D(2026, 3, 14), False, D(2026, 3, 15), D(2026, 3, 20)),
    (Category.PKH, None, D(2026, 12, 31), False, D(2027, 1, 15), D(2027, 1, 25)),
    (Category.DTKS_REGISTRATION, False, D(2024, 2, 29), False, D(2024, 3, 15), D(2024, 3, 25)),
    (Category.BPNT, True, D(2026, 1, 25), True, D(2026, 1, 15), D(2026, 1, 25)),
]


@pytest.mark.parametrize(
    ("category", "in_dtks", "today", "open_now", "opens", "closes"), WINDOW_CASES
)
def test_monthly_windows_at_month_ends_and_leap_years(
    category: Category, in_dtks: bool | None, today: date, open_now: bool, opens: date, closes: date
) -> None:
    window = window_for(category, in_dtks, today)
    assert window is not None
    assert (window.open_now, window.opens_on, window.closes_on) == (open_now, opens, closes)


def test_complaints_without_a_ministry_window_have_none() -> None:
    assert window_for(Category.RTLH, True, date(2026, 3, 1)) is None


def _kin(nik: str, alive: bool = True, died: date | None = None) -> object:
    return SimpleNamespace(nik=nik, alive=alive, death_date=died)


def test_a_death_after_the_kk_was_issued_means_the_kk_must_be_renewed() -> None:
    kk = "3317011506200001"  # issued 15 June 2020
    head = _kin("1", alive=False, died=date(2023, 4, 2))
    found = household_findings(kk, [head, _kin("2")], {})
    assert "KK perlu diperbarui" in found[0]
    before = _kin("1", alive=False, died=date(2019, 1, 1))  # the KK was renewed after it
    assert household_findings(kk, [before, _kin("2")], {}) == []


def test_members_left_out_of_the_households_pbi_are_counted() -> None:
    kk = "3317011506200001"
    members = [_kin("1"), _kin("2"), _kin("3")]
    found = household_findings(kk, members, {"1": {"PBI-JK"}, "2": {"PBI-JK", "PKH"}})
    assert found == ["1 anggota keluarga belum tercakup PBI-JK yang diikuti anggota lain"]
    assert household_findings(kk, members, {}) == []  # nobody has it: nothing left out
