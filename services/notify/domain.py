"""Notify's rules: who is told, on which channel, and when. No I/O.

What is said is `messages.py`; this module decides the route (the citizen's chosen channel,
or their village office), the order of a case's messages, quiet hours and the retry
schedule.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from shared.areas import WIB
from shared.contracts import (
    AreaCodes,
    CaseClosed,
    CaseRegistered,
    CaseReopened,
    CaseVerified,
    ContactChannel,
    ReferralCreated,
    ReferralUpdated,
)

# A citizen hears the steps in the order they happened although the events reach notify on
# separate consumers: a message waits until the one about the step before it was queued.
COMES_AFTER: dict[str, str] = {
    CaseVerified.TYPE: CaseRegistered.TYPE,
    ReferralCreated.TYPE: CaseVerified.TYPE,
    ReferralUpdated.TYPE: ReferralCreated.TYPE,
    # A case closes when its last referral ends, and every ending is told.
    CaseClosed.TYPE: ReferralUpdated.TYPE,
    CaseReopened.TYPE: CaseClosed.TYPE,
}

# Channels a message can take. The village office and officers read theirs in notify's
# message box (and the village on the case's timeline in intake).
CITIZEN_CHANNELS = ("sms", "whatsapp", "email")
INBOX = "kotak_pesan"
CHANNELS = (*CITIZEN_CHANNELS, INBOX)


@dataclass(frozen=True)
class Route:
    recipient_kind: str  # citizen | village_office | officer
    channel: str
    to: str


def citizen_route(
    *,
    contact: ContactChannel,
    phone: str | None,
    email: str | None,
    desa_code: str,
    opted_out: bool,
) -> Route:
    """The citizen's chosen channel when it can reach them; otherwise their village office,
    so an operator can tell a citizen who has no phone, chose no messages, or replied STOP."""
    if contact in ("sms", "whatsapp") and phone and not opted_out:
        return Route("citizen", contact, phone)
    if contact == "email" and email:
        return Route("citizen", "email", email)
    return Route("village_office", INBOX, f"kantor-desa:{desa_code}")


def escalation_route(level: str, area: AreaCodes) -> Route:
    """A case that left the village goes to its sub-district supervisor's box; one the
    supervisor forwarded, to the district secretariat's."""
    if level == "kecamatan":
        return Route("officer", INBOX, f"supervisor:{area.kecamatan}")
    return Route("officer", INBOX, f"sekretariat:{area.kabupaten}")


@dataclass(frozen=True)
class QuietHours:
    """Non-urgent messages are not sent between `start` and `end` local time (a night:
    `start` is later in the day than `end`)."""

    start: time = time(21, 0)
    end: time = time(6, 0)
    zone: tzinfo = WIB
    enabled: bool = True

    def release(self, moment: datetime, *, urgent: bool) -> datetime:
        """The earliest time at or after `moment` a message may go: `moment` itself when it
        is urgent or outside quiet hours, else the end of the quiet night."""
        if urgent or not self.enabled:
            return moment
        local = moment.astimezone(self.zone)
        clock = local.timetz().replace(tzinfo=None)
        if self.start <= clock:
            morning = (local + timedelta(days=1)).date()
        elif clock < self.end:
            morning = local.date()
        else:
            return moment
        return datetime.combine(morning, self.end, tzinfo=self.zone).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off between delivery attempts, then the message has failed."""

    max_attempts: int = 6
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed try (1 → base, 2 → 2·base ...)."""
        return timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), self.cap_seconds))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


OPT_OUT_WORDS = frozenset({"STOP", "BERHENTI"})
OPT_IN_WORDS = frozenset({"START", "MULAI"})


def reply_intent(text: str) -> str | None:
    """'opt_out' for STOP/BERHENTI, 'opt_in' for START/MULAI (first word, any case), else None."""
    words = text.strip().upper().split()
    first = words[0].strip(".!") if words else ""
    if first in OPT_OUT_WORDS:
        return "opt_out"
    if first in OPT_IN_WORDS:
        return "opt_in"
    return None
