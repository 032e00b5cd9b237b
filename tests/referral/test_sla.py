"""Target times count working days: weekends and Indonesian public holidays do not count."""

from datetime import UTC, date, datetime

import pytest

from services.referral.lifecycle import Status
from services.referral.sla import due_for, due_moment
from shared.workdays import add_working_days, is_working_day


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 8, 17), False),  # Hari Kemerdekaan, a Monday
        (date(2026, 8, 18), True),
        (date(2026, 8, 15), False),  # Saturday
        (date(2026, 12, 25), False),  # Natal
        (date(2026, 3, 20), True),  # the Friday before Idulfitri 2026
    ],
)
def test_working_days_follow_the_national_calendar(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_counting_skips_a_weekend_and_a_holiday_together() -> None:
    # Friday 14 August + 1 working day: not Saturday, Sunday or Monday 17 August.
    assert add_working_days(date(2026, 8, 14), 1) == date(2026, 8, 18)
    assert add_working_days(date(2026, 8, 14), 0) == date(2026, 8, 14)
    # Starting on a holiday counts from the next working day.
    assert add_working_days(date(2026, 8, 17), 0) == date(2026, 8, 18)


def test_a_step_is_due_when_the_office_closes_on_its_last_day() -> None:
    friday_morning_wib = datetime(2026, 8, 14, 2, 0, tzinfo=UTC)  # 09:00 WIB
    assert due_moment(friday_morning_wib, 1) == datetime(2026, 8, 18, 9, 0, tzinfo=UTC)  # 16:00 WIB
    # Friday 15:30 WIB, due the same day: at closing, half an hour later.
    friday_afternoon_wib = datetime(2026, 8, 14, 8, 30, tzinfo=UTC)
    assert due_moment(friday_afternoon_wib, 0) == datetime(2026, 8, 14, 9, 0, tzinfo=UTC)
    # After closing (23:30 WIB; still Friday in UTC) it counts from the next working day,
    # past the weekend and Independence Day: due Tuesday, not already overdue.
    friday_night_wib = datetime(2026, 8, 14, 16, 30, tzinfo=UTC)
    assert due_moment(friday_night_wib, 0) == datetime(2026, 8, 18, 9, 0, tzinfo=UTC)


def test_urgent_cases_have_shorter_targets_and_ended_steps_none() -> None:
    started = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB
    days = {"answer_days": 5, "service_days": 14}
    calm = due_for(Status.SENT, started, urgent=False, **days)
    urgent = due_for(Status.SENT, started, urgent=True, **days)
    assert urgent == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert calm == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert due_for(Status.COMPLETED, started, urgent=False, **days) is None
