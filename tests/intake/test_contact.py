"""How the citizen wants to be told: recorded at the desk, refused when it cannot reach them,
and a message that never arrived is on the case's timeline for the village to act on."""

import asyncio
import json
from uuid import UUID, uuid4

import pytest

from shared.contracts import NotificationFailed, NotificationSent
from tests.events import envelope, publish
from tests.intake.conftest import Intake


async def test_the_chosen_channel_email_and_the_documents_to_bring_travel_to_notify(
    intake: Intake,
) -> None:
    response = await intake.register(contact="email", email="siti@example.id")
    assert response.status_code == 201, response.text
    [row] = await intake.outbox()
    event = json.loads(row.payload)
    assert event["contact"] == "email" and event["person"]["email"] == "siti@example.id"
    # A reactivation asks for KTP, KK and the SKTM; nothing is uploaded at registration yet.
    assert len(event["missing_documents"]) >= 2
    assert any("KTP" in label for label in event["missing_documents"])


async def test_without_a_choice_a_phone_means_sms_and_no_phone_the_village_office(
    intake: Intake,
) -> None:
    await intake.register()
    await intake.register(phone=None, category="rtlh")
    contacts = [json.loads(row.payload)["contact"] for row in await intake.outbox()]
    assert contacts == ["sms", "none"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"contact": "whatsapp", "phone": None}, "isi nomor HP untuk dikabari lewat WHATSAPP"),
        ({"contact": "email"}, "isi alamat e-mail"),
        ({"contact": "email", "email": "bukan-email"}, "email"),
        ({"contact": "merpati"}, "pilihan tidak dikenal"),
    ],
)
async def test_a_channel_that_cannot_reach_the_citizen_is_refused(
    intake: Intake, changes: dict[str, object], words: str
) -> None:
    response = await intake.register(**changes)
    assert response.status_code == 422
    assert words in response.json()["message"]


async def test_a_failed_message_is_on_the_timeline_for_the_village_to_act(
    intake: Intake,
) -> None:
    case = (await intake.register()).json()
    failed = NotificationFailed(
        **envelope(UUID(case["id"])),
        notification_id=uuid4(),
        about_event="case.registered",
        recipient_kind="citizen",
        channel="sms",
        reason="gateway menjawab 503",
        attempts=6,
    )
    await publish(intake.runtime.settings.nats_url, failed)
    for _ in range(200):
        timeline = (await intake.get(case["url"])).json()["timeline"]
        if timeline[-1]["step"] == "Pemberitahuan gagal":
            break
        await asyncio.sleep(0.05)
    assert timeline[-1]["step"] == "Pemberitahuan gagal"
    assert "gateway menjawab 503" in timeline[-1]["note"]
    assert "Kabari warga langsung" in timeline[-1]["note"]


async def test_the_timeline_says_what_the_citizen_read(intake: Intake) -> None:
    case = (await intake.register()).json()
    told = NotificationSent(
        **envelope(UUID(case["id"])),
        notification_id=uuid4(),
        about_event="case.registered",
        recipient_kind="citizen",
        channel="sms",
        text="SLRT: Pengaduan Anda tercatat.",
    )
    await publish(intake.runtime.settings.nats_url, told)
    for _ in range(200):
        timeline = (await intake.get(case["url"])).json()["timeline"]
        if timeline[-1]["step"] == "Pemberitahuan terkirim":
            break
        await asyncio.sleep(0.05)
    assert timeline[-1]["note"].endswith("ke warga lewat sms: “SLRT: Pengaduan Anda tercatat.”")
