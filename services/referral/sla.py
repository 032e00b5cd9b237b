"""Target times: every step of a referral is due a number of working days after it began.

Working days skip weekends and Indonesian public holidays (`shared.workdays`). Days end at
16:00 WIB, when district offices close; a referral is overdue once its due moment has passed.
No I/O: the clock is always passed in.
"""

from datetime import UTC, datetime, time, timedelta

from services.referral.lifecycle import Status
from shared.areas import WIB
from shared.workdays import add_working_days

OFFICE_CLOSES = time(16, 0)


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
