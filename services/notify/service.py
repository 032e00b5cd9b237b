"""Notify's use cases: queue what a person should hear, claim it for delivery, record how
delivery went, and the district's templates.

Events only queue messages (in the consumer's transaction, so once per event, recipient and
channel); the dispatcher (`dispatch.py`) sends them. A message raises `notification.sent`
when its channel took it and `notification.failed` when it never will.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import bindparam, exists, func, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.notify.domain import (
    COMES_AFTER,
    INBOX,
    QuietHours,
    RetryPolicy,
    Route,
    citizen_route,
    escalation_route,
    reply_intent,
)
from services.notify.messages import (
    KINDS,
    Message,
    check_template,
    escalation_message,
    message_for,
    overdue_message,
    render,
    sms_parts,
)
from services.notify.models import MessageTemplate, Notification, OptOut, Recipient
from shared.accounts import audit
from shared.auth import Principal, service_actor
from shared.consumer import NotYet
from shared.contracts import (
    AreaCodes,
    CaseContactChanged,
    CaseEscalated,
    CaseRegistered,
    Event,
    NotificationFailed,
    NotificationSent,
    ReferralOverdue,
)
from shared.db import get_by_key
from shared.identity import normalise_phone
from shared.outbox import add_event
from shared.staging import stage

ALL_CHANNELS = "semua"
UNFINISHED = ("pending", "sending")
# Where a session keeps the district's texts once read (template_text).
_TEMPLATES = "notify.templates"


@dataclass(frozen=True)
class Timing:
    """When messages may go: the clock's reading now, and the quiet hours."""

    now: datetime
    quiet: QuietHours


async def remember_recipient(*, session: AsyncSession, registered: CaseRegistered) -> Recipient:
    recipient = Recipient(
        case_id=registered.case_id,
        registration_number=registered.registration_number,
        phone=registered.person.phone,
        email=registered.person.email,
        contact=registered.contact,
        urgent=registered.urgent,
        desa_code=registered.area.desa,
    )
    stage(session, recipient)  # new, and not changed in this transaction
    return recipient


async def change_contact(*, session: AsyncSession, event: CaseContactChanged) -> None:
    """The village corrected how to reach the citizen: later messages use it."""
    recipient = await session.get(Recipient, event.case_id)
    if recipient is None:
        raise NotYet(f"recipient of case {event.case_id} not known yet")
    recipient.phone, recipient.email, recipient.contact = event.phone, event.email, event.contact
    session.add(recipient)


async def notify(
    *, session: AsyncSession, event: Event, timing: Timing, recipient: Recipient | None = None
) -> Notification | None:
    """Queue the message about `event` for the citizen (or, when they cannot be reached on
    their channel, their village office), if it is something they should hear.

    `recipient`, when the caller has it at hand: the session's identity map keeps only
    objects someone refers to, so a get would read it again.

    Its reads do not flush: what the session holds unwritten is the same batch's messages
    (one event type per consumer) and recipients, and it reads other cases' recipients,
    opt-outs, templates and messages about other events. So a batch's rows are written
    together at commit instead of one flush per event (bench/RESULTS.md)."""
    with session.no_autoflush:
        return await _notify(session, event, timing, recipient)


async def _notify(
    session: AsyncSession, event: Event, timing: Timing, recipient: Recipient | None
) -> Notification | None:
    recipient = recipient or await get_by_key(session, Recipient, event.case_id)
    if recipient is None:
        # case.registered is consumed separately and may not be applied yet: retry later.
        raise NotYet(f"recipient of case {event.case_id} not known yet")
    before = COMES_AFTER.get(event.type)
    if before is not None and not await _was_queued(session, event.case_id, before):
        raise NotYet(f"the message about {before} is not queued yet")
    message = message_for(event, registration_number=recipient.registration_number)
    if message is None:
        return None
    opted_out = (
        bool(recipient.phone) and await get_by_key(session, OptOut, recipient.phone) is not None
    )
    route = citizen_route(
        contact=recipient.contact,  # type: ignore[arg-type]
        phone=recipient.phone,
        email=recipient.email,
        desa_code=recipient.desa_code,
        opted_out=opted_out,
    )
    return await _queue(session, event, route, message, urgent=recipient.urgent, timing=timing)


async def tell_officer(
    *, session: AsyncSession, event: ReferralOverdue, address: str, timing: Timing
) -> Notification:
    """Escalate an overdue referral to the secretariat head, once per escalation."""
    recipient = await session.get(Recipient, event.case_id)
    number = recipient.registration_number if recipient else None
    route = Route("officer", INBOX, f"{address}:{event.area.kabupaten}")
    message = overdue_message(event, registration_number=number)
    return await _queue(session, event, route, message, urgent=event.urgent, timing=timing)


async def tell_next_level(*, session: AsyncSession, event: CaseEscalated, timing: Timing) -> None:
    """The officer who must act on an escalated case hears of it (urgent ones at night too)."""
    route = escalation_route(event.level, event.area)
    message = escalation_message(event)
    await _queue(session, event, route, message, urgent=event.urgent, timing=timing)


async def _queue(
    session: AsyncSession,
    event: Event,
    route: Route,
    message: Message,
    *,
    urgent: bool,
    timing: Timing,
) -> Notification:
    template = await template_text(session=session, kind=message.kind, channel=route.channel)
    body = render(template, message.values)
    parts = sms_parts(body)
    notification = Notification(
        source_event_id=event.event_id,
        case_id=event.case_id,
        about_event=event.type,
        kind=message.kind,
        recipient_kind=route.recipient_kind,
        channel=route.channel,
        to=route.to,
        subject=f"SLRT: {KINDS[message.kind].label}",
        body=body,
        encoding=parts.encoding,
        segments=parts.segments,
        urgent=urgent,
        # created_at stays the real time of queueing: it orders a case's messages.
        next_attempt_at=timing.quiet.release(timing.now, urgent=urgent),
        desa_code=event.area.desa,
        trace_id=event.trace_id,
    )
    # The unique constraint refuses a second one for this event. Staged: the dispatcher
    # changes it later, in transactions of its own (shared/staging.py).
    stage(session, notification)
    return notification


# Built once, as the dispatcher's statements below: building took longer than running.
_WAS_QUEUED = (
    select(Notification.id)
    .where(
        Notification.case_id == bindparam("case_id"),
        Notification.about_event == bindparam("about_event"),
    )
    .limit(1)
)


async def _was_queued(session: AsyncSession, case_id: UUID, about_event: str) -> bool:
    params = {"case_id": case_id, "about_event": about_event}
    return (await session.exec(_WAS_QUEUED, params=params)).first() is not None


@dataclass(frozen=True)
class Claim:
    """A message a dispatcher took for one attempt. `recovered`: a crashed sender had it."""

    notification: Notification
    recovered: bool


def _due_query() -> SelectOfScalar[Notification]:
    """Messages whose time has come (or whose dispatcher's lease ran out), each the oldest
    unfinished one of its case and recipient kind, oldest first."""
    due = (col(Notification.status) == "pending") & (
        col(Notification.next_attempt_at) <= bindparam("now")
    )
    stale = (col(Notification.status) == "sending") & (
        col(Notification.claimed_until) < bindparam("now")
    )
    earlier = aliased(Notification)
    waits_for_earlier = exists().where(
        col(earlier.case_id) == col(Notification.case_id),
        col(earlier.recipient_kind) == col(Notification.recipient_kind),
        col(earlier.status).in_(UNFINISHED),
        col(earlier.created_at) < col(Notification.created_at),
    )
    query = select(Notification).where(due | stale, ~waits_for_earlier)
    return query.order_by(col(Notification.created_at)).limit(bindparam("limit"))


# Built once, not per round: putting the alias and the EXISTS together cost 0.8 ms of CPU,
# and when messages come one at a time every round pays it (bench/RESULTS.md). The other
# statements of a round likewise, with the ids as an expanding parameter.
_DUE = _due_query()
_CLAIM = (
    update(Notification)
    .where(
        col(Notification.id).in_(bindparam("ids", expanding=True)),
        col(Notification.status) == "pending",
    )
    .values(status="sending", attempts=Notification.attempts + 1, claimed_until=bindparam("until"))
    .execution_options(synchronize_session=False)
)
# What a round holds after claiming: its own lease, to the microsecond.
_HELD = (
    select(Notification)
    .where(
        col(Notification.id).in_(bindparam("ids", expanding=True)),
        col(Notification.status) == "sending",
        col(Notification.claimed_until) == bindparam("until"),
    )
    .execution_options(populate_existing=True)
)
_BY_IDS = select(Notification).where(col(Notification.id).in_(bindparam("ids", expanding=True)))


async def claim_due(
    *, session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[Claim]:
    """Take up to `limit` messages whose time has come, at most one per case and recipient
    (the oldest unfinished one, so a case's messages arrive in order); the caller commits.

    A message stays `sending` until `claimed_until`; after that a crashed dispatcher's
    message is taken over. The updates are conditional and the round reads back what holds
    its own lease, so two dispatchers can race safely.
    """
    candidates = (await session.exec(_DUE, params={"now": now, "limit": limit})).all()
    until = now + lease
    fresh = [n.id for n in candidates if n.status == "pending"]
    if fresh:  # one statement for the round; `status` guards against another dispatcher
        await session.exec(_CLAIM, params={"ids": fresh, "until": until})
    recovered = set()
    for n in (n for n in candidates if n.status == "sending"):  # rare: a sender crashed
        taken = await session.exec(
            update(Notification)
            .where(
                col(Notification.id) == n.id,
                col(Notification.status) == "sending",
                col(Notification.attempts) == n.attempts,
            )
            .values(attempts=n.attempts + 1, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            recovered.add(n.id)
    held = {"ids": [n.id for n in candidates], "until": until}
    taken_rows = (await session.exec(_HELD, params=held)).all()
    return [Claim(n, recovered=n.id in recovered) for n in taken_rows]


async def still_claimed(*, session: AsyncSession, claims: list[Claim]) -> dict[UUID, Notification]:
    """A round's messages, read with one query, that no other dispatcher took over since."""
    ids = [claim.notification.id for claim in claims]
    rows = (await session.exec(_BY_IDS, params={"ids": ids})).all()
    attempts = {claim.notification.id: claim.notification.attempts for claim in claims}
    return {n.id: n for n in rows if n.status == "sending" and n.attempts == attempts[n.id]}


def record_sent(
    *, session: AsyncSession, n: Notification, provider_id: str | None, now: datetime
) -> None:
    """The channel took the message: mark it sent and raise `notification.sent`."""
    n.status, n.provider_id, n.sent_at, n.claimed_until = "sent", provider_id, now, None
    n.last_error = None
    add_event(session, _sent_event(n))


def record_failure(
    *,
    session: AsyncSession,
    n: Notification,
    reason: str,
    retryable: bool,
    policy: RetryPolicy,
    timing: Timing,
) -> None:
    """Try again after the back-off (outside quiet hours), or give up and say so."""
    n.last_error, n.claimed_until = reason[:500], None
    if retryable and not policy.exhausted(n.attempts):
        n.status = "pending"
        retry_at = timing.now + policy.delay(n.attempts)
        n.next_attempt_at = timing.quiet.release(retry_at, urgent=n.urgent)
        return
    _fail(session, n, reason)


def _fail(session: AsyncSession, n: Notification, reason: str) -> None:
    n.status, n.last_error = "failed", reason[:500]
    add_event(
        session,
        NotificationFailed(
            **_envelope(n),
            notification_id=n.id,
            about_event=n.about_event,
            recipient_kind=n.recipient_kind,
            channel=n.channel,
            reason=reason[:500],
            attempts=n.attempts,
        ),
    )


def _envelope(n: Notification) -> dict[str, object]:
    area = AreaCodes.of_desa(n.desa_code)
    return {
        "case_id": n.case_id,
        "area": area,
        "trace_id": n.trace_id,
        "actor": service_actor("notify", area.kabupaten),
    }


def _sent_event(n: Notification) -> NotificationSent:
    return NotificationSent(
        **_envelope(n),
        notification_id=n.id,
        about_event=n.about_event,
        recipient_kind=n.recipient_kind,
        channel=n.channel,
        text=n.body,
    )


async def record_receipt(
    *,
    session: AsyncSession,
    reference: UUID | None,
    provider_id: str | None,
    delivered: bool,
    error: str | None,
    now: datetime,
) -> int:
    """Apply a gateway's delivery receipt; a report of non-delivery makes the message
    failed (once), so the village office can tell the citizen another way."""
    if reference is not None:
        n = await session.get(Notification, reference)
    elif provider_id:
        query = select(Notification).where(Notification.provider_id == provider_id)
        n = (await session.exec(query)).first()
    else:
        n = None
    if n is None or n.status not in ("sending", "sent", "delivered"):
        return 0
    if delivered:
        n.status, n.delivered_at = "delivered", now
    else:
        _fail(session, n, f"tidak sampai ke penerima: {error or 'laporan gateway'}")
    await session.commit()
    return 1


async def resend(
    *, session: AsyncSession, notification_id: UUID, now: datetime, principal: Principal
) -> Notification:
    """Put a failed message back in the queue (a person decided to try again); audited."""
    n = await session.get(Notification, notification_id)
    if n is None:
        raise LookupError(notification_id)
    if n.status != "failed":
        raise ValueError("hanya pesan yang gagal yang dapat dikirim ulang")
    n.status, n.attempts, n.next_attempt_at, n.claimed_until = "pending", 0, now, None
    audit(
        session=session,
        principal=principal,
        action="resend_notification",
        purpose="kirim ulang pesan yang gagal",
        case_id=n.case_id,
    )
    return n


async def record_reply(*, session: AsyncSession, sender: str, text: str) -> str | None:
    """Apply a citizen's SMS reply: STOP/BERHENTI opts out, START/MULAI opts back in."""
    intent = reply_intent(text)
    phone = normalise_phone(sender)
    existing = await session.get(OptOut, phone)
    if intent == "opt_out" and existing is None:
        session.add(OptOut(phone=phone, keyword=text.strip().split()[0].upper()))
    elif intent == "opt_in" and existing is not None:
        await session.delete(existing)
    await session.commit()
    return intent


async def template_text(*, session: AsyncSession, kind: str, channel: str) -> str:
    """The district's text for this kind on this channel, else for every channel, else the
    built-in one.

    The district's texts are read once per session and kept in its `info`: a consumer's
    batch then reads them once, not once per message (bench/RESULTS.md). A session is one
    batch or one request, so an edit reaches every notify instance's next batch."""
    own = session.info.get(_TEMPLATES)
    if own is None:
        own = session.info[_TEMPLATES] = await district_templates(session=session)
    return own.get((kind, channel)) or own.get((kind, ALL_CHANNELS)) or KINDS[kind].default


async def district_templates(*, session: AsyncSession) -> dict[tuple[str, str], str]:
    """The district's own texts by (kind, channel)."""
    query = select(MessageTemplate.kind, MessageTemplate.channel, MessageTemplate.body)
    return {(kind, channel): body for kind, channel, body in (await session.exec(query)).all()}


async def save_template(
    *,
    session: AsyncSession,
    kind: str,
    channel: str,
    body: str,
    principal: Principal,
    now: datetime,
) -> MessageTemplate:
    """Replace a kind's text on a channel, after checking it renders (TemplateProblem)."""
    check_template(kind, body)
    session.info.pop(_TEMPLATES, None)
    editor = principal.username
    own = await session.get(MessageTemplate, (kind, channel))
    if own is None:
        own = MessageTemplate(kind=kind, channel=channel, body=body, updated_by=editor)
        session.add(own)
    own.body, own.updated_by, own.updated_at = body, editor, now
    audit(
        session=session,
        principal=principal,
        action="change_template",
        purpose=f"templat {kind} ({channel})",
    )
    return own


async def reset_template(
    *, session: AsyncSession, kind: str, channel: str, principal: Principal
) -> None:
    """Back to the every-channel text (or the built-in one) for this kind and channel."""
    session.info.pop(_TEMPLATES, None)
    own = await session.get(MessageTemplate, (kind, channel))
    if own is not None:
        await session.delete(own)
    audit(
        session=session,
        principal=principal,
        action="reset_template",
        purpose=f"templat {kind} ({channel})",
    )


async def notifications_of_case(*, session: AsyncSession, case_id: UUID) -> list[Notification]:
    query = select(Notification).where(Notification.case_id == case_id)
    return list((await session.exec(query.order_by(col(Notification.created_at)))).all())


async def recent_notifications(
    *, session: AsyncSession, status: str | None, limit: int = 200
) -> list[Notification]:
    """The newest messages, optionally of one status (the secretariat's list of failures)."""
    query = select(Notification)
    if status:
        query = query.where(Notification.status == status)
    return list(
        (await session.exec(query.order_by(col(Notification.created_at).desc()).limit(limit))).all()
    )


async def count_by_status(*, session: AsyncSession) -> dict[str, int]:
    query = select(Notification.status, func.count()).group_by(Notification.status)
    return {status: count for status, count in (await session.exec(query)).all()}
