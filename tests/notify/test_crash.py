"""Killed mid-send: notify runs as a real process, is SIGKILLed while the gateway holds its
request, and is started again. The citizen gets the message once, or the secretariat is
told its fate is unknown; never twice."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notify.dispatch import LOST
from shared.accounts import DEMO_PASSWORD
from shared.contracts import NotificationFailed
from slrt.natsserver import NatsServer, free_port
from slrt.services import spec_of
from slrt.up import ServiceProcess, service_processes, wait_ready
from tests.conftest import DatabaseFactory
from tests.events import case_registered, publish, stored
from tests.notify.gateway import PAYLOAD_WITHOUT_REFERENCE, SMS_ID_FIELD, SMS_PAYLOAD, Gateway


@pytest.fixture
def notify_process(
    provisioned_nats: NatsServer, databases: DatabaseFactory, gateway: Gateway, tmp_path: Path
) -> Iterator[Any]:
    """Makes the notify process for a payload shape; stopped at the end."""
    started: list[ServiceProcess] = []

    def make(payload: str) -> ServiceProcess:
        env = {
            "SLRT_NOTIFY_DEMO_USERS": "true",
            "SLRT_NOTIFY_QUIET_HOURS": "false",
            "SLRT_NOTIFY_SMS_URL": f"{gateway.url}/sms/send",
            "SLRT_NOTIFY_SMS_PAYLOAD": payload,
            "SLRT_NOTIFY_SMS_ID_FIELD": SMS_ID_FIELD,
            "SLRT_NOTIFY_SEND_TIMEOUT_SECONDS": "5",
            "SLRT_NOTIFY_SEND_LEASE_SECONDS": "6",
            "SLRT_NOTIFY_DISPATCH_POLL_SECONDS": "0.2",
        }
        (svc,) = service_processes(
            [spec_of("notify")],
            nats_url=provisioned_nats.url,
            var_dir=tmp_path,
            ports={"notify": free_port()},
            database_urls={"notify": databases.new("notify")},
            extra_env=env,
            log_dir=tmp_path,
        ).values()
        started.append(svc)
        return svc

    yield make
    for svc in started:
        svc.stop()


def messages_of(svc: ServiceProcess, case_id: object) -> list[dict[str, Any]]:
    login = {"username": "sekretariat", "password": DEMO_PASSWORD}
    token = httpx.post(f"{svc.url}/api/login", json=login, timeout=10).json()["token"]
    response = httpx.get(
        f"{svc.url}/api/notifications",
        params={"case_id": str(case_id)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    found: list[dict[str, Any]] = response.json()
    return found


async def kill_mid_send(svc: ServiceProcess, gateway: Gateway, nats_url: str) -> Any:
    """Register a case, kill notify while the gateway holds the request, start it again."""
    svc.start()
    await asyncio.to_thread(wait_ready, [svc], 60)
    gateway.behaviour.delay = 2.0
    event = case_registered(phone="+6281234567890")
    await publish(nats_url, event)
    deadline = time.monotonic() + 20
    while not gateway.requests:
        assert time.monotonic() < deadline, "notify never called the gateway"
        await asyncio.sleep(0.02)
    svc.kill()
    await asyncio.sleep(2.5)  # the gateway finishes the request of a sender that is gone
    gateway.behaviour.delay = 0.0
    svc.start()
    await asyncio.to_thread(wait_ready, [svc], 60)
    return event


async def settled(svc: ServiceProcess, case_id: object) -> dict[str, Any]:
    for _ in range(200):
        found = await asyncio.to_thread(messages_of, svc, case_id)
        if found and found[0]["status"] in ("sent", "failed"):
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the message never settled: {found}")


async def test_a_gateway_that_knows_the_reference_is_asked_again_and_answers_once(
    provisioned_nats: NatsServer, gateway: Gateway, notify_process: Any
) -> None:
    svc = notify_process(SMS_PAYLOAD)
    event = await kill_mid_send(svc, gateway, provisioned_nats.url)
    message = await settled(svc, event.case_id)
    assert message["status"] == "sent" and message["attempts"] == 2
    refs = [r.payload["ref"] for r in gateway.requests]
    assert refs == [message["id"], message["id"]]  # asked twice, with the same reference
    assert len(gateway.delivered()) == 1  # and the phone got it once


async def test_without_a_reference_the_message_is_reported_failed_and_not_resent(
    provisioned_nats: NatsServer, gateway: Gateway, notify_process: Any
) -> None:
    svc = notify_process(PAYLOAD_WITHOUT_REFERENCE)
    event = await kill_mid_send(svc, gateway, provisioned_nats.url)
    message = await settled(svc, event.case_id)
    assert message["status"] == "failed" and message["last_error"] == LOST
    assert len(gateway.requests) == 1  # never sent a second time
    raised = await stored(provisioned_nats.url, NotificationFailed.filter_subject())
    assert [NotificationFailed.model_validate_json(m.data).reason for m in raised] == [LOST]
