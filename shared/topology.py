"""The one place that says which stream exists and which durable consumers read it.

`slrt provision` (and `slrt up`, and deployment) creates these on the server; services only
bind to them. Declaring streams from every service would let each one rewrite the stream's
settings, and a changed consumer config in code does nothing to an existing consumer.
"""

from dataclasses import dataclass

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from shared.contracts import (
    STREAM_NAME,
    SUBJECT_ROOT,
    CaseClosed,
    CaseContactChanged,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    CaseUpdated,
    CaseVerified,
    Event,
    NotificationFailed,
    NotificationSent,
    ProposalUpdated,
    ReferralCreated,
    ReferralOverdue,
    ReferralUpdated,
    VisitUpdated,
)

# A handler gets this many tries (with back-off between them) before the message goes to
# the dead-letter subject. The server's max_deliver is higher so that a crash mid-message
# never makes the server drop it silently before the handler could dead-letter it.
MAX_ATTEMPTS = 5
# An event that waits for another one (consumed by another durable, so possibly later) gets
# longer: about six minutes of back-off before it is dead-lettered.
WAITING_ATTEMPTS = 12
SERVER_MAX_DELIVER = WAITING_ATTEMPTS + 3
ACK_WAIT_SECONDS = 30.0
MAX_ACK_PENDING = 1000
DUPLICATE_WINDOW_SECONDS = 120.0


@dataclass(frozen=True)
class Streams:
    """Where a service publishes and where its consumers read: the one SLRT stream at the
    district, the village's own two streams at a village edge (see `shared/edge.py`)."""

    publish: str = STREAM_NAME
    consume: str = STREAM_NAME


DISTRICT_STREAMS = Streams()


@dataclass(frozen=True)
class Subscription:
    service: str
    event: type[Event]

    @property
    def durable(self) -> str:
        return f"{self.service}__{self.event.TYPE.replace('.', '_')}"


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("verval", CaseRegistered),
    Subscription("verval", CaseUpdated),
    Subscription("referral", CaseVerified),
    Subscription("referral", CaseEscalated),
    Subscription("notify", CaseRegistered),
    Subscription("notify", CaseVerified),
    Subscription("notify", ReferralCreated),
    Subscription("intake", CaseVerified),
    Subscription("intake", ReferralCreated),
    Subscription("intake", NotificationSent),
    Subscription("intake", ReferralUpdated),
    Subscription("intake", CaseClosed),
    Subscription("notify", ReferralUpdated),
    Subscription("notify", CaseClosed),
    Subscription("notify", ReferralOverdue),
    Subscription("intake", NotificationFailed),
    Subscription("notify", CaseEscalated),
    Subscription("notify", CaseReopened),
    Subscription("notify", CaseContactChanged),
    Subscription("intake", ProposalUpdated),
    Subscription("intake", VisitUpdated),
)


def subscription(service: str, event: type[Event]) -> Subscription:
    """The provisioned subscription of `service` to `event`; fails loudly if there is none."""
    wanted = Subscription(service, event)
    if wanted not in SUBSCRIPTIONS:
        raise LookupError(f"{service} has no provisioned consumer for {event.TYPE}")
    return wanted


def dead_letter_subject(service: str) -> str:
    return f"{SUBJECT_ROOT}.dlq.{service}"


def stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=STREAM_NAME,
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


def consumer_config(sub: Subscription) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=sub.durable,
        name=sub.durable,
        filter_subject=sub.event.filter_subject(),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_SECONDS,
        max_deliver=SERVER_MAX_DELIVER,
        max_ack_pending=MAX_ACK_PENDING,
    )
