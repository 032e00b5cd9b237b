"""Steps reach notify on separate consumers, in any order; the citizen hears them in order."""

import asyncio
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
    assert await notify.of_case(case_id) == []

    registered = await notify.register(case_id=case_id)
    sent = await notify.wait_for(case_id, count=3)
    assert [n["about_event"] for n in sent] == [
        "case.registered",
        "case.verified",
        "referral.created",
    ]
    mine = [m["body"] for m in notify.lines() if registered.registration_number in m["body"]]
    assert ["tercatat" in mine[0], "diperiksa" in mine[1], "dirujuk" in mine[2]] == [True] * 3
