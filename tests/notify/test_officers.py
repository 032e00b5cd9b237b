"""Officers hear what is late: an overdue referral reaches the secretariat head, once."""

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

from shared.contracts import ReferralOverdue
from tests.events import case_escalated, case_verified, envelope
from tests.notify.conftest import Notify


async def test_an_overdue_referral_is_escalated_to_the_head_once(notify: Notify) -> None:
    registered = await notify.register()
    overdue = ReferralOverdue(
        **envelope(registered.case_id),
        referral_id=uuid4(),
        destination="bpjs_dinkes",
        status="sent",
        due_at=datetime(2026, 8, 18, 9, 0, tzinfo=UTC),
        urgent=True,
    )
    await notify.publish(overdue)
    await notify.publish(overdue)  # a redelivery or a republish: still one message
    sent = await notify.wait_for(registered.case_id, count=2)
    await asyncio.sleep(0.5)  # time enough for a second message, if there were one
    (message,) = [m for m in notify.lines() if m["to"] == "kepala-sekretariat:33.17"]
    assert registered.registration_number in message["body"]
    assert "MENDESAK" in message["body"] and "18-08-2026 16:00 WIB" in message["body"]
    kinds = sorted(n["recipient_kind"] for n in await notify.of_case(registered.case_id))
    assert kinds == ["citizen", "officer"]
    assert {n["channel"] for n in sent if n["recipient_kind"] == "officer"} == {"kotak_pesan"}


async def test_an_escalated_case_reaches_the_box_of_whoever_must_act_next(
    notify: Notify,
) -> None:
    registered = await notify.register()
    verified = case_verified(registered.case_id, registration_number=registered.registration_number)
    await notify.publish(case_escalated(verified, level="kecamatan"))
    await notify.publish(case_escalated(verified, level="kabupaten"))
    sent = await notify.wait_for(registered.case_id, count=3)
    boxes = {n["body"]: n for n in sent if n["recipient_kind"] == "officer"}
    assert len(boxes) == 2
    to = {m["to"] for m in notify.lines() if m["body"] in boxes}
    assert to == {"supervisor:33.17.01", "sekretariat:33.17"}
    for body in boxes:
        assert registered.registration_number in body and "diteruskan supervisor" in body
