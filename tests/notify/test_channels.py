"""The citizen's chosen channel: WhatsApp Business Cloud API and e-mail over a real SMTP
server; quiet hours on a controllable clock; the district's own templates."""

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import event

from services.notify import service
from shared.auth import Role
from shared.contracts import Category
from shared.runtime import ServiceRuntime
from slrt.natsserver import free_port
from tests.events import case_registered
from tests.notify.conftest import NOON_WIB, Clock, Notify, StartNotify
from tests.notify.gateway import Gateway

APP_SECRET = "meta-app-secret"


def whatsapp_through(gateway: Gateway) -> dict[str, Any]:
    return {
        "whatsapp_base_url": f"{gateway.url}/v21.0",
        "whatsapp_phone_number_id": "1234567890",
        "whatsapp_token": "wa-token",
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": "verify-me",
    }


async def test_whatsapp_sends_the_cloud_api_message_and_hears_its_status(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    async with start_notify(**whatsapp_through(gateway)) as notify:
        event = await notify.register(contact="whatsapp")
        (request,) = gateway.requests
        assert request.path == "/v21.0/1234567890/messages"
        assert request.authorization == "Bearer wa-token"
        assert request.payload["messaging_product"] == "whatsapp"
        assert request.payload["to"] == "6281234567890" and request.payload["type"] == "text"
        assert event.registration_number in request.payload["text"]["body"]

        status = {"id": "wamid.gw-1", "status": "delivered", "recipient_id": "6281234567890"}
        body = json.dumps({"entry": [{"changes": [{"value": {"statuses": [status]}}]}]}).encode()
        url = "/api/notifications/whatsapp/webhook"
        forged = await notify.client.post(
            url, content=body, headers={"X-Hub-Signature-256": "sha256=00"}
        )
        assert forged.status_code == 401
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = await notify.client.post(
            url, content=body, headers={"X-Hub-Signature-256": signature}
        )
        assert signed.json() == {"updated": 1}
        odd = json.dumps({"entry": ["x", {"changes": [None]}]}).encode()
        odd_signature = "sha256=" + hmac.new(APP_SECRET.encode(), odd, hashlib.sha256).hexdigest()
        shapeless = await notify.client.post(
            url, content=odd, headers={"X-Hub-Signature-256": odd_signature}
        )
        assert shapeless.json() == {"updated": 0}
        (sent,) = await notify.of_case(event.case_id)
        assert sent["channel"] == "whatsapp" and sent["status"] == "delivered"

        stop = {"from": "6281234567890", "type": "text", "text": {"body": "BERHENTI"}}
        reply = json.dumps({"entry": [{"changes": [{"value": {"messages": [stop]}}]}]}).encode()
        reply_signature = (
            "sha256=" + hmac.new(APP_SECRET.encode(), reply, hashlib.sha256).hexdigest()
        )
        await notify.client.post(
            url, content=reply, headers={"X-Hub-Signature-256": reply_signature}
        )
        after = await notify.register(contact="whatsapp")
        assert [n["recipient_kind"] for n in await notify.of_case(after.case_id)] == [
            "village_office"
        ]
        assert len(gateway.requests) == 1  # nothing more went to the citizen's WhatsApp

        verify = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
        assert (await notify.client.get(url, params=verify)).text == "42"
        wrong = verify | {"hub.verify_token": "guess"}
        assert (await notify.client.get(url, params=wrong)).status_code == 403


class Inbox:
    """What the SMTP server received; refuses recipients at `refused.example.id`."""

    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.example.id"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mails.append(message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_email_reaches_a_real_smtp_server_and_a_refused_address_fails_once(
    start_notify: StartNotify, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_sender": "SLRT <slrt@desa.id>"}
    async with start_notify(**smtp) as notify:
        event = await notify.register(contact="email", email="siti@example.id")
        refused = await notify.register(contact="email", email="x@refused.example.id")
        (sent,) = await notify.of_case(event.case_id)
        (failed,) = await notify.of_case(refused.case_id)
    (mail,) = inbox.mails
    assert mail["To"] == "siti@example.id" and mail["From"] == "SLRT <slrt@desa.id>"
    assert mail["Subject"] == "SLRT: Pengaduan tercatat"
    assert mail["Message-ID"] == f"<{sent['id']}@slrt>"
    assert event.registration_number in mail.get_payload()  # type: ignore[operator]
    assert sent["status"] == "sent" and sent["channel"] == "email"
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert "ditolak" in failed["last_error"]


async def test_at_night_a_message_waits_for_the_morning_unless_it_is_urgent(
    start_notify: StartNotify,
) -> None:
    clock = Clock(NOON_WIB.replace(hour=15))  # 22:00 in Jakarta
    async with start_notify(clock=clock) as notify:
        waiting = await notify.register(statuses=("pending",))
        urgent = await notify.register(urgent=True)
        await asyncio.sleep(0.5)  # several dispatch rounds pass
        (held,) = await notify.of_case(waiting.case_id)
        assert held["status"] == "pending" and notify.told(waiting) == []
        assert notify.told(urgent) == ["+6281234567890"]

        clock.advance(hours=8)  # 06:00 the next morning
        notify.app.state.notify.wake()
        (sent,) = await notify.wait_for(waiting.case_id)
    assert sent["status"] == "sent" and notify.told(waiting) == ["+6281234567890"]


async def test_the_district_changes_what_is_said_and_a_broken_template_is_refused(
    start_notify: StartNotify,
) -> None:
    async with start_notify() as notify:
        url = "/api/templates/terdaftar/sms"
        text = {"body": "SLRT Rembang: nomor Anda {{ nomor }}. Tanya di desa."}
        assert (await notify.client.put(url, json=text)).status_code == 403  # staff may not
        await notify.sign_in("kepala", Role.SECRETARIAT_HEAD)
        saved = await notify.client.put(url, json=text)
        assert saved.status_code == 200, saved.text
        assert (
            saved.json()["example"]
            == "SLRT Rembang: nomor Anda 3317012001-2611-0007. Tanya di desa."
        )
        assert saved.json()["customised"] and saved.json()["sms_segments"] == 1

        broken = await notify.client.put(url, json={"body": "SLRT: {{ nomor_kasus }}"})
        assert broken.status_code == 422
        assert "nomor_kasus" in broken.json()["message"]
        assert (
            await notify.client.put("/api/templates/tidak_ada/sms", json=text)
        ).status_code == 404

        event = await notify.register()
        assert [m["body"] for m in notify.lines()] == [
            f"SLRT Rembang: nomor Anda {event.registration_number}. Tanya di desa."
        ]
        whatsapp = await notify.register(contact="whatsapp")
        (other,) = [m["body"] for m in notify.lines() if whatsapp.registration_number in m["body"]]
        assert other.startswith("SLRT: Pengaduan Anda tercatat")  # other channels keep theirs

        assert (await notify.client.delete(url)).status_code == 204
        listed = (await notify.client.get("/api/templates")).json()
        assert not any(t["kind"] == "terdaftar" and t["customised"] for t in listed)
        again = await notify.register()
        (back,) = [m["body"] for m in notify.lines() if again.registration_number in m["body"]]
        assert back.startswith("SLRT: Pengaduan Anda tercatat")  # the built-in text once more


async def test_a_batch_reads_the_district_texts_once_and_the_next_batch_sees_an_edit(
    start_notify: StartNotify,
) -> None:
    async with start_notify() as notify:
        await notify.sign_in("kepala", Role.SECRETARIAT_HEAD)
        url = "/api/templates/terdaftar/sms"
        await notify.client.put(url, json={"body": "Teks pertama {{ nomor }}."})
        first = await _queue_batch(notify, 3)
        assert first == (["Teks pertama"] * 3, 1)

        await notify.client.put(url, json={"body": "Teks kedua {{ nomor }}."})
        assert await _queue_batch(notify, 2) == (["Teks kedua"] * 2, 1)


async def _queue_batch(notify: Notify, count: int) -> tuple[list[str], int]:
    """Queue `count` registrations' messages in one transaction, as the consumer does with a
    batch: the texts' first words, and how many statements read the district's texts."""
    runtime: ServiceRuntime = notify.app.state.runtime
    reads: list[str] = []

    def record(_: Any, __: Any, statement: str, *args: Any) -> None:
        if "FROM message_template" in statement:
            reads.append(statement)

    bodies = []
    async with runtime.sessions() as session:
        engine = runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            for _ in range(count):
                registered = case_registered(phone="081234567890", category=Category.PKH)
                recipient = await service.remember_recipient(session=session, registered=registered)
                queued = await service.notify(
                    session=session,
                    event=registered,
                    timing=notify.app.state.notify.timing(),
                    recipient=recipient,
                )
                assert queued is not None
                bodies.append(" ".join(queued.body.split()[:2]))
            await session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return bodies, len(reads)
