"""Delivery through a real SMS gateway that fails, delays and refuses on purpose: retries
with back-off, failure after the last attempt (raised and listed), rate limits, receipts."""

import asyncio
from uuid import UUID

import pytest

import shared.db
from shared.contracts import Category, NotificationFailed
from slrt.natsserver import NatsServer
from tests.events import case_registered, publish, stored
from tests.notify.conftest import StartNotify, sms_through
from tests.notify.gateway import PAYLOAD_WITHOUT_REFERENCE, Gateway
from tests.outage import database_away
from tests.waiting import wait_until


async def test_an_sms_goes_through_the_gateway_in_its_configured_shape(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    async with start_notify(**sms_through(gateway)) as notify:
        event = await notify.register()
        (sent,) = await notify.of_case(event.case_id)
    (request,) = gateway.requests
    assert request.authorization == "Bearer sms-key"
    assert request.payload["msisdn"] == "+6281234567890"
    assert request.payload["ref"] == sent["id"] and request.payload["from"] == "SLRT"
    assert event.registration_number in request.payload["text"]
    assert sent["status"] == "sent" and sent["channel"] == "sms" and sent["attempts"] == 1
    assert sent["segments"] == 1 and sent["encoding"] == "GSM-7"
    assert notify.lines() == []  # a configured gateway, not the demo file


async def test_a_failing_gateway_is_retried_with_growing_delays_until_it_takes_the_message(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    gateway.behaviour.fail_first = 2
    async with start_notify(**sms_through(gateway)) as notify:
        event = await notify.register()
        (sent,) = await notify.of_case(event.case_id)
    assert sent["status"] == "sent" and sent["attempts"] == 3 and sent["last_error"] is None
    assert len(gateway.requests) == 3 and len(gateway.delivered()) == 1
    first, second, third = (r.at for r in gateway.requests)
    # back-off of 0.2 s, then 0.4 s (retry_base_seconds is 0.2 in these tests)
    assert second - first >= 0.2 and third - second >= 0.4


async def test_a_timeout_counts_as_a_failed_attempt(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    gateway.behaviour.delay = 1.5
    settings = sms_through(gateway, send_timeout_seconds=0.5, send_lease_seconds=5, max_attempts=2)
    async with start_notify(**settings) as notify:
        event = await notify.register()
        (failed,) = await notify.of_case(event.case_id)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert "timeout" in failed["last_error"]


async def test_after_the_last_attempt_the_message_fails_is_raised_listed_and_can_be_resent(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    gateway.behaviour.status = 503
    async with start_notify(**sms_through(gateway, max_attempts=3)) as notify:
        event = await notify.register()
        (failed,) = await notify.of_case(event.case_id)
        assert failed["status"] == "failed" and failed["attempts"] == 3
        assert "503" in failed["last_error"]
        listed = (await notify.client.get("/api/notifications?status=failed")).json()
        assert [n["id"] for n in listed] == [failed["id"]]
        raised = await _failures(notify.nats_url)
        assert [(e.notification_id, e.attempts) for e in raised] == [(UUID(failed["id"]), 3)]
        assert "+62" not in raised[0].model_dump_json()  # the reason, never the number

        gateway.behaviour.status = None  # the gateway is back; the secretariat resends
        resent = await notify.client.post(f"/api/notifications/{failed['id']}/resend")
        assert resent.status_code == 200
        (sent,) = await notify.wait_for(event.case_id, statuses=("sent",))
        assert sent["status"] == "sent" and sent["attempts"] == 1
        again = await notify.client.post(f"/api/notifications/{failed['id']}/resend")
        assert again.status_code == 409 and "gagal" in again.json()["message"]
    assert len(gateway.delivered()) == 1


async def _failures(nats_url: str) -> list[NotificationFailed]:
    for _ in range(50):
        found = await stored(nats_url, NotificationFailed.filter_subject())
        if found:
            return [NotificationFailed.model_validate_json(m.data) for m in found]
        await asyncio.sleep(0.1)
    return []


async def test_a_refused_number_fails_at_once_without_retries(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    gateway.behaviour.refuse_numbers = {"+6281234567890"}
    async with start_notify(**sms_through(gateway)) as notify:
        event = await notify.register()
        (failed,) = await notify.of_case(event.case_id)
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert "menolak (400)" in failed["last_error"]
    assert len(gateway.requests) == 1


async def test_the_gateway_rate_limit_is_kept(start_notify: StartNotify, gateway: Gateway) -> None:
    rate = 5
    async with start_notify(**sms_through(gateway, sms_rate_per_second=rate)) as notify:
        events = [case_registered(phone="+6281234567890") for _ in range(12)]
        for event in events:
            await notify.publish(event)
        for event in events:
            await notify.wait_for(event.case_id)
    times = sorted(r.at for r in gateway.requests)
    assert len(times) == 12
    # Sends are paced 1/rate s apart, so a closed one-second window holds at most rate + 1
    # of them; unpaced, all twelve would arrive within a fraction of a second.
    busiest = max(sum(start <= t <= start + 1.0 for t in times) for start in times)
    assert busiest <= rate + 1
    # From the second on: the first arrives late by as long as connecting to the gateway
    # takes, 0.12 s once on busy cores, which brought the second within 0.08 s of it.
    assert times[-1] - times[1] >= (len(times) - 2) / rate - 0.05


async def test_a_slow_gateway_holds_up_its_own_message_and_no_later_one(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    gateway.behaviour.delay = 5.0
    async with start_notify(**sms_through(gateway, send_timeout_seconds=10)) as notify:
        by_sms = await notify.register(statuses=("sending",))
        for_office = case_registered(phone=None)  # told through the village office's inbox
        await notify.publish(for_office)
        (told,) = await notify.wait_for(for_office.case_id)
        (waiting,) = await notify.of_case(by_sms.case_id)
    assert told["channel"] == "kotak_pesan" and told["status"] == "sent"
    assert waiting["status"] == "sending"  # the gateway has not answered yet


async def test_what_a_round_sent_is_recorded_without_waiting_for_a_slow_gateway(
    start_notify: StartNotify, gateway: Gateway, provisioned_nats: NatsServer
) -> None:
    gateway.behaviour.delay = 5.0
    # Waiting together before notify starts, they are queued together and claimed together.
    by_sms, for_office = case_registered(phone="+6281234567890"), case_registered(phone=None)
    for event in (by_sms, for_office):
        await publish(provisioned_nats.url, event)
    async with start_notify(**sms_through(gateway, send_timeout_seconds=10)) as notify:
        (told,) = await notify.wait_for(for_office.case_id)
        (waiting,) = await notify.of_case(by_sms.case_id)
        assert told["status"] == "sent" and waiting["status"] == "sending"
        (sent,) = await notify.wait_for(by_sms.case_id)  # and recorded once it is back
    assert sent["status"] == "sent" and len(gateway.requests) == 1


async def test_delivery_receipts_mark_messages_delivered_or_failed(
    start_notify: StartNotify, gateway: Gateway
) -> None:
    async with start_notify(**sms_through(gateway)) as notify:
        first = await notify.register()
        second = await notify.register()
        (one,) = await notify.of_case(first.case_id)
        (two,) = await notify.of_case(second.case_id)
        token = {"X-Gateway-Token": "gateway-secret"}
        url = "/api/notifications/sms/receipts"
        by_reference = {"reference": one["id"], "status": "delivered"}
        assert (await notify.client.post(url, json=by_reference, headers=token)).json() == {
            "updated": 1
        }
        provider_id = gateway.accepted[two["id"]]
        by_id = {"provider_id": provider_id, "status": "failed", "error": "nomor tidak aktif"}
        assert (await notify.client.post(url, json=by_id, headers=token)).json() == {"updated": 1}
        wrong = await notify.client.post(url, json=by_reference, headers={"X-Gateway-Token": "x"})
        assert wrong.status_code == 401
        empty = await notify.client.post(url, json={"status": "delivered"}, headers=token)
        assert empty.status_code == 422 and "reference" in empty.json()["message"]

        (delivered,) = await notify.of_case(first.case_id)
        (failed,) = await notify.of_case(second.case_id)
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    assert failed["status"] == "failed" and "nomor tidak aktif" in failed["last_error"]


@pytest.mark.usefixtures("short_sqlite_wait")
async def test_a_send_the_database_could_not_record_is_recorded_once_it_answers(
    start_notify: StartNotify,
    gateway: Gateway,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gateway takes the message while notify's database is away, for longer than the
    message's lease. Taken over at the lease's end, a message through a gateway that cannot
    recognise a resend is reported lost (tests/notify/test_crash.py); kept until the
    database answers, and not claimed again meanwhile, it is recorded sent."""
    monkeypatch.setattr(shared.db, "DATABASE_WAIT_MAX_SECONDS", 2.0)
    gateway.behaviour.delay = 2.0
    settings = sms_through(
        gateway,
        sms_payload=PAYLOAD_WITHOUT_REFERENCE,
        send_timeout_seconds=5,
        send_lease_seconds=6,
    )
    async with start_notify(**settings) as notify:
        event = case_registered(phone="+6281234567890", category=Category.PKH)
        await notify.publish(event)
        await wait_until(lambda: _requested(gateway))  # claimed and on its way
        with database_away(database_url):
            await asyncio.sleep(8)  # the gateway answers, and the lease ends, meanwhile
        (sent,) = await notify.wait_for(event.case_id)
    assert sent["status"] == "sent" and sent["attempts"] == 1
    assert len(gateway.requests) == 1


async def _requested(gateway: Gateway) -> bool:
    return bool(gateway.requests)
