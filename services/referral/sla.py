"""Target times: every step of a referral is due a number of working days after it began.

Working days skip Saturdays, Sundays and Indonesian public holidays (the `holidays`
package's calendar, which follows the government's decree each year). Days end at 16:00
WIB, when district offices close; a referral is overdue once its due moment has passed.
No I/O: the clock is always passed in.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from services.referral.lifecycle import Status
from shared.areas import WIB

OFFICE_CLOSES = time(16, 0)


@lru_cache(maxsize=16)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The working day `days` working days after `start` (0: `start` or the next working day)."""
    day = start
    while not is_working_day(day):
        day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return day


def due_moment(started: datetime, working_days: int) -> datetime:
    """When a step that began at `started` must be done: closing time of its last day.
    A step that begins after closing time begins, for counting, the next day."""
    local = started.astimezone(WIB)
    first_day = local.date() + timedelta(days=1 if local.time() >= OFFICE_CLOSES else 0)
    last_day = add_working_days(first_day, working_days)
    return datetime.combine(last_day, OFFICE_CLOSES, tzinfo=WIB).astimezone(UTC)


# The statuses that wait on someone, and whose clock counts: the secretariat sends,
# the agency answers, the agency serves.
TIMED = frozenset({Status.CREATED, Status.SENT, Status.ACCEPTED, Status.IN_SERVICE})


def target_days(status: Status, *, answer_days: int, service_days: int, urgent: bool) -> int:
    """Working days allowed for the step `status` begins; urgent cases get same-day steps."""
    if urgent:
        return 0 if status in {Status.CREATED, Status.SENT} else 1
    if status is Status.CREATED:
        return 1
    if status is Status.SENT:
        return answer_days
    return service_days


def due_for(
    status: Status, started: datetime, *, answer_days: int, service_days: int, urgent: bool
) -> datetime | None:
    if status not in TIMED:
        return None
    days = target_days(status, answer_days=answer_days, service_days=service_days, urgent=urgent)
    return due_moment(started, days)
