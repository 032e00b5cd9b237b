"""Events as the services would raise them, for tests that feed consumers directly."""

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import nats
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from shared.contracts import (
    STREAM_NAME,
    Actor,
    AreaCodes,
    CaseClosed,
    CaseEscalated,
    CaseRegistered,
    CaseVerified,
    Category,
    Event,
    Person,
    ReferralUpdated,
    Sex,
)


def envelope(case_id: UUID | None = None, desa: str = "33.17.01.2001") -> dict[str, Any]:
    """The envelope fields of an event about a case in `desa`."""
    return {
        "case_id": case_id or uuid4(),
        "area": AreaCodes.of_desa(desa),
        "trace_id": uuid4().hex,
        "actor": Actor(user_id="fo-test", role="front_office", area_code=desa),
    }


def case_registered(
    case_id: UUID | None = None,
    phone: str | None = None,
    email: str | None = None,
    **changes: Any,
) -> CaseRegistered:
    """Siti Aminah's reactivation complaint, registered in Ronggo Mulyo."""
    person = Person(
        nik="3317014507850001",
        name="Siti Aminah",
        birth_date=date(1985, 7, 5),
        sex=Sex.FEMALE,
        phone=phone,
        email=email,
    )
    fields = {
        "registration_number": f"3317012001-2611-{uuid4().int % 10000:04d}",
        "person": person,
        "category": Category.PBI_REACTIVATION,
        "description": "KIS tidak aktif sejak bulan lalu",
    }
    return CaseRegistered(**envelope(case_id), **(fields | changes))


def case_verified(
    case_id: UUID | None = None, desa: str = "33.17.01.2001", **changes: Any
) -> CaseVerified:
    """Verval's verdict on a consistent reactivation case whose citizen consented."""
    fields = {
        "category": Category.PBI_REACTIVATION,
        "consent_to_share": True,
        "identity_consistent": True,
        "registration_number": f"3317012001-2611-{uuid4().int % 10000:04d}",
    }
    return CaseVerified(**envelope(case_id, desa), **(fields | changes))


def case_escalated(verified: CaseVerified, level: str = "kabupaten") -> CaseEscalated:
    """The sub-district forwarding a verified case to the district."""
    return CaseEscalated(
        **envelope(verified.case_id, verified.area.desa),
        level=level,
        reason="diteruskan supervisor",
        category=verified.category,
        urgent=verified.urgent,
        consent_to_share=verified.consent_to_share,
        registration_number=verified.registration_number,
    )


def referral_updated(case_id: UUID, status: str, **changes: Any) -> ReferralUpdated:
    """A BPJS referral of the case moving to `status`, as referral raises it."""
    fields = {
        "referral_id": uuid4(),
        "destination": "bpjs_dinkes",
        "destination_name": "BPJS Kesehatan / Dinas Kesehatan",
        "command": "accept",
        "previous_status": "sent",
        "status": status,
        "status_label": status,
    }
    return ReferralUpdated(**envelope(case_id), **(fields | changes))


def case_closed(case_id: UUID, decision: str = "served") -> CaseClosed:
    summary = "BPJS Kesehatan / Dinas Kesehatan: dilayani"
    return CaseClosed(**envelope(case_id), decision=decision, summary=summary)


async def publish(nats_url: str, event: Event) -> None:
    """Publish `event` into the SLRT stream as its service's outbox relay would."""
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(event.subject(), event.model_dump_json().encode())
    finally:
        await nc.close()


async def stored(nats_url: str, subject: str) -> list[Msg]:
    """Every message the SLRT stream holds on `subject`, read without consuming."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=10.0)
        sub = await js.pull_subscribe(subject, stream=STREAM_NAME, config=config)
        try:
            return await sub.fetch(100, timeout=1)
        except TimeoutError:  # nats-py's, or asyncio's bare one that 2.16 also raises
            return []
    finally:
        await nc.close()
