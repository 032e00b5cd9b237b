"""Steps reach notify on separate consumers, in any order; the citizen hears them in order."""

import asyncio
import json
from uuid import uuid4

from shared.contracts import CaseVerified, Category, ReferralCreated
from tests.events import envelope
from tests.notify.conftest import Notify


async def test_referral_and_verification_arriving_first_are_told_after_registration(
    notify: Notify,
) -> None:
    case_id = uuid4()
    common = envelope(case_id)
    await notify.publish(
        ReferralCreated(
            **common,
            referral_id=uuid4(),
            destination="pkh",
            destination_name="Koordinator PKH kabupaten",
        )
    )
    await notify.publish(CaseVerified(**common, category=Category.PKH, identity_consistent=True))
    await asyncio.sleep(1)  # both are waiting for the registration
    sent = await notify.client.get("/api/notifications", params={"case_id": str(case_id)})
    assert sent.json() == []

    registered = await notify.register(case_id=case_id)
    for _ in range(300):
        sent = await notify.client.get("/api/notifications", params={"case_id": str(case_id)})
        if len(sent.json()) == 3:
            break
        await asyncio.sleep(0.1)
    assert [n["about_event"] for n in sent.json()] == [
        "case.registered",
        "case.verified",
        "referral.created",
    ]
    lines = [json.loads(x) for x in notify.messages.read_text().splitlines()]
    mine = [m["body"] for m in lines if registered.registration_number in m["body"]]
    assert ["tercatat" in mine[0], "diperiksa" in mine[1], "dirujuk" in mine[2]] == [True] * 3
