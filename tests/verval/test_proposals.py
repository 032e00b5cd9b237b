"""The DTKS proposal rules, without a database: who may take which step, the monthly windows,
roll-over and the warnings before a window closes."""

from datetime import date

import pytest

from services.verval.proposals import (
    Command,
    Facts,
    Kind,
    Pending,
    Status,
    batch_month,
    check,
    household_key,
    proposal_for,
    roll_over,
    warnings,
    window_key,
    window_open,
)
from services.verval.visits import due_on, is_overdue
from shared.auth import Principal, Role
from shared.contracts import Category
from shared.errors import Refusal

DESA = "33.17.01.2001"
FAMILY_KK = "3317010101200001"
DRAFTED = Facts(Status.DRAFTED, DESA, household_key(FAMILY_KK), drafted_by="koor-a")


def officer(name: str, role: Role, area: str = DESA, kk: str | None = None) -> Principal:
    return Principal(name, role, area, household_key=household_key(kk) if kk else None)


def test_the_drafter_cannot_approve_their_own_proposal() -> None:
    with pytest.raises(Refusal) as refused:
        check(Command.APPROVE, DRAFTED, officer("koor-a", Role.COORDINATOR))
    assert refused.value.status_code == 403 and "dua orang" in refused.value.message
    assert check(Command.APPROVE, DRAFTED, officer("kades", Role.VILLAGE_HEAD)) is Status.APPROVED


def test_no_officer_acts_for_their_own_household() -> None:
    relative = officer("kades", Role.VILLAGE_HEAD, kk=FAMILY_KK)
    with pytest.raises(Refusal) as refused:
        check(Command.APPROVE, DRAFTED, relative)
    assert "Konflik kepentingan" in refused.value.message
    verified = Facts(Status.VERIFIED, DESA, household_key(FAMILY_KK), "koor-a")
    with pytest.raises(Refusal):
        check(Command.RATIFY, verified, officer("bupati", Role.REGENT, "33.17", kk=FAMILY_KK))
    assert check(Command.RATIFY, verified, officer("sekda", Role.REGIONAL_SECRETARY, "33.17"))


@pytest.mark.parametrize(
    ("command", "who", "why"),
    [
        (Command.APPROVE, officer("fo", Role.FRONT_OFFICE), "tidak berwenang"),  # role
        (Command.APPROVE, officer("kades", Role.VILLAGE_HEAD, "33.17.01.2002"), "tidak berwenang"),
        (Command.VERIFY, officer("dtks", Role.DTKS_ADMIN, "33.17"), "status usulan sekarang"),
        (Command.DRAFT, officer("fo", Role.FRONT_OFFICE), "status usulan sekarang"),
    ],
)
def test_wrong_role_area_or_status_is_refused_in_words(
    command: Command, who: Principal, why: str
) -> None:
    with pytest.raises(Refusal) as refused:
        check(command, DRAFTED, who)
    assert why in refused.value.message


@pytest.mark.parametrize(
    ("category", "in_dtks", "pbi_active", "expected"),
    [
        (Category.DTKS_REGISTRATION, False, None, (Kind.ADD, "DTKS")),
        (Category.DTKS_REGISTRATION, True, None, None),  # already in: no new proposal
        (Category.PBI_REACTIVATION, True, False, (Kind.REACTIVATION, "PBI-JK")),
        (Category.PBI_REACTIVATION, True, True, None),  # active: nothing to reactivate
        (Category.PBI_ENROLMENT, False, None, (Kind.ADD, "PBI-JK")),
        (Category.DTKS_CORRECTION, True, None, (Kind.CORRECTION, "DTKS")),
        (Category.PKH, False, None, (Kind.ADD, "DTKS")),  # PKH needs DTKS first
        (Category.PKH, True, None, (Kind.ADD, "PKH")),
        (Category.RTLH, False, None, None),
        (Category.DTKS_REGISTRATION, None, None, None),  # no DTKS snapshot: cannot tell
    ],
)
def test_which_proposal_a_verified_case_needs(
    category: Category,
    in_dtks: bool | None,
    pbi_active: bool | None,
    expected: tuple[Kind, str] | None,
) -> None:
    assert proposal_for(category, in_dtks=in_dtks, pbi_active=pbi_active) == expected


@pytest.mark.parametrize(
    ("key", "today", "month"),
    [
        ("pbi_dtks", date(2026, 11, 11), date(2026, 11, 1)),  # last day still counts
        ("pbi_dtks", date(2026, 11, 12), date(2026, 12, 1)),
        ("dtks", date(2026, 12, 26), date(2027, 1, 1)),  # over the year's end
        ("pbi_new", date(2028, 1, 31), date(2028, 2, 1)),  # into a leap February
        ("pbi_new", date(2028, 2, 29), date(2028, 3, 1)),  # from its 29th
        ("dtks", date(2027, 2, 28), date(2027, 3, 1)),
    ],
)
def test_batch_months_at_month_ends_and_leap_years(key: str, today: date, month: date) -> None:
    assert batch_month(key, today) == month


def test_the_window_depends_on_being_in_dtks() -> None:
    assert window_key("PBI-JK", True) == "pbi_dtks"
    assert window_key("PBI-JK", False) == "pbi_new"
    assert window_key("PKH", True) == "dtks"
    assert window_open("pbi_new", date(2026, 11, 1), date(2026, 11, 15))
    assert not window_open("pbi_new", date(2026, 11, 1), date(2026, 11, 21))


def test_a_proposal_that_missed_its_window_moves_and_says_why() -> None:
    november = date(2026, 11, 1)
    assert roll_over(Status.VERIFIED, "dtks", november, date(2026, 11, 25)) is None
    moved = roll_over(Status.VERIFIED, "dtks", november, date(2026, 11, 26))
    assert moved is not None and moved.month == date(2026, 12, 1)
    assert "15–25 November 2026 sudah tutup" in moved.reason
    assert "menunggu pengesahan" in moved.reason and "Desember 2026" in moved.reason
    assert roll_over(Status.SENT, "dtks", november, date(2026, 12, 2)) is None
    # Weeks late (the service was down): straight to the next window still to come.
    late = roll_over(Status.DRAFTED, "pbi_dtks", november, date(2027, 1, 5))
    assert late is not None and late.month == date(2027, 1, 1)


def test_warnings_list_what_is_unfinished_per_village_before_a_window_closes() -> None:
    december = date(2026, 12, 1)
    pending = [
        Pending(DESA, "dtks", december, Status.DRAFTED),
        Pending(DESA, "dtks", december, Status.DRAFTED),
        Pending(DESA, "dtks", december, Status.VERIFIED),
        Pending(DESA, "dtks", december, Status.RATIFIED),  # finished: only sending is left
        Pending("33.17.01.2002", "pbi_dtks", december, Status.OPEN),  # its window is over
    ]
    assert warnings(pending, date(2026, 12, 21)) == {}  # four days before: not yet
    found = warnings(pending, date(2026, 12, 23))
    assert list(found) == [DESA]
    (line,) = found[DESA]
    assert "tutup 25-12-2026" in line
    assert "2 draf, menunggu musyawarah desa" in line and "1 diverifikasi" in line


def test_a_visit_is_due_in_five_working_days_and_overdue_after() -> None:
    # Friday 14 August 2026; Monday 17 August is Independence Day.
    due = due_on(date(2026, 8, 14))
    assert due == date(2026, 8, 24)
    assert not is_overdue(due, done=False, today=due)
    assert is_overdue(due, done=False, today=date(2026, 8, 25))
    assert not is_overdue(due, done=True, today=date(2026, 9, 1))
