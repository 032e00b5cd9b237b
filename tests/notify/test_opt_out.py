"""A citizen who replies STOP or BERHENTI gets no more messages; their village office does."""

import asyncio
from pathlib import Path

import httpx

from services.notify.app import create_app
from services.notify.models import Recipient
from services.notify.settings import Settings
from shared.contracts import CaseContactChanged
from tests.events import case_verified, envelope
from tests.notify.conftest import PHONE, Notify


async def test_stop_sends_later_messages_to_the_village_office_and_mulai_undoes_it(
    notify: Notify,
) -> None:
    before = await notify.register()
    assert notify.told(before) == ["+6281234567890"]

    stopped = await notify.reply("BERHENTI kirim sms")
    assert stopped.json() == {"intent": "opt_out"}
    after = await notify.register()
    assert notify.told(after) == ["kantor-desa:33.17.01.2001"]
    listed = await notify.of_case(after.case_id)
    assert listed[0]["recipient_kind"] == "village_office"
    assert listed[0]["encoding"] == "GSM-7" and listed[0]["segments"] == 1

    assert (await notify.reply("mulai", sender="+62 812-3456-7890")).json() == {"intent": "opt_in"}
    again = await notify.register()
    assert notify.told(again) == ["+6281234567890"]


async def test_other_replies_change_nothing(notify: Notify) -> None:
    assert (await notify.reply("terima kasih")).json() == {"intent": None}
    event = await notify.register()
    assert notify.told(event) == ["+6281234567890"]


async def test_the_webhook_needs_the_gateway_token_and_a_phone(notify: Notify) -> None:
    assert (await notify.reply("STOP", token="guess")).status_code == 401
    bad_phone = await notify.reply("STOP", sender="12345")
    assert bad_phone.status_code == 422 and "nomor HP tidak valid" in bad_phone.json()["message"]
    event = await notify.register()
    assert notify.told(event) == ["+6281234567890"]  # nobody was opted out by those


async def test_without_a_configured_token_the_webhook_is_off(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/n.db")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
        response = await client.post(
            "/api/notifications/sms/inbound",
            json={"from": PHONE, "text": "STOP"},
            headers={"X-Gateway-Token": ""},
        )
    assert response.status_code == 503
    assert "SLRT_NOTIFY_GATEWAY_TOKEN" in response.json()["message"]


async def test_a_corrected_contact_is_used_for_later_messages(notify: Notify) -> None:
    registered = await notify.register()
    changed = CaseContactChanged(
        **envelope(registered.case_id), phone=None, email="siti@example.id", contact="email"
    )
    await notify.publish(changed)
    verified = case_verified(registered.case_id, registration_number=registered.registration_number)
    for _ in range(100):  # the change and the next step travel on separate consumers
        async with notify.app.state.runtime.sessions() as session:
            recipient = await session.get(Recipient, registered.case_id)
            if recipient is not None and recipient.contact == "email":
                break
        await asyncio.sleep(0.05)
    await notify.publish(verified)
    sent = await notify.wait_for(registered.case_id, count=2)
    assert [(n["about_event"], n["channel"]) for n in sent] == [
        ("case.registered", "sms"),
        ("case.verified", "email"),
    ]
