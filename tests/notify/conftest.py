"""Notify in-process on a real nats-server and both databases, fed real events."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from services.notify.app import create_app
from services.notify.settings import Settings
from shared.accounts import add_user
from shared.auth import Role
from shared.contracts import CaseRegistered, Category, Event
from shared.runtime import ServiceRuntime
from slrt.natsserver import NatsServer
from tests.events import case_registered, publish
from tests.notify.gateway import SMS_ID_FIELD, SMS_PAYLOAD, Gateway, running_gateway

TOKEN = "gateway-secret"
PHONE = "081234567890"
PASSWORD = "rahasia-notify-1"
FINISHED = ("sent", "delivered", "failed")
# Noon in Jakarta: outside quiet hours, whenever the tests run.
NOON_WIB = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


class Clock:
    """The time notify reads: it runs at real speed from `start`, and a test can jump it
    forward (to the morning after quiet hours, say)."""

    def __init__(self, start: datetime = NOON_WIB) -> None:
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Notify:
    client: httpx.AsyncClient
    nats_url: str
    messages: Path
    app: FastAPI
    clock: Clock

    async def reply(self, text: str, sender: str = PHONE, token: str = TOKEN) -> httpx.Response:
        return await self.client.post(
            "/api/notifications/sms/inbound",
            json={"from": sender, "text": text},
            headers={"X-Gateway-Token": token},
        )

    async def publish(self, event: Event) -> None:
        await publish(self.nats_url, event)

    async def of_case(self, case_id: UUID) -> list[dict[str, Any]]:
        response = await self.client.get("/api/notifications", params={"case_id": str(case_id)})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def wait_for(
        self, case_id: UUID, count: int = 1, statuses: tuple[str, ...] = FINISHED
    ) -> list[dict[str, Any]]:
        """The case's messages once `count` of them have one of `statuses`."""
        for _ in range(300):
            found = await self.of_case(case_id)
            if sum(n["status"] in statuses for n in found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"notify did not reach {statuses} for case {case_id}: {found}")

    async def register(
        self, case_id: UUID | None = None, statuses: tuple[str, ...] = FINISHED, **changes: Any
    ) -> CaseRegistered:
        """Publish a case.registered as intake would, and wait until its message went out."""
        fields: dict[str, Any] = {"phone": "+6281234567890", "category": Category.PKH}
        event = case_registered(case_id, **(fields | changes))
        await self.publish(event)
        await self.wait_for(event.case_id, statuses=statuses)
        return event

    def lines(self) -> list[dict[str, Any]]:
        if not self.messages.exists():
            return []
        return [json.loads(line) for line in self.messages.read_text().splitlines()]

    def told(self, event: CaseRegistered) -> list[str]:
        return [m["to"] for m in self.lines() if event.registration_number in m["body"]]

    async def sign_in(self, username: str, role: Role) -> None:
        """Create a district user and use their token from now on."""
        runtime: ServiceRuntime = self.app.state.runtime
        async with runtime.sessions() as session:
            await add_user(
                session=session,
                areas=runtime.areas,
                username=username,
                full_name=username,
                role=role,
                area_code="33.17",
                password=PASSWORD,
            )
            await session.commit()
        login = {"username": username, "password": PASSWORD}
        token = (await self.client.post("/api/login", json=login)).json()["token"]
        self.client.headers["Authorization"] = f"Bearer {token}"


StartNotify = Callable[..., AbstractAsyncContextManager[Notify]]


@pytest.fixture
def start_notify(provisioned_nats: NatsServer, database_url: str, tmp_path: Path) -> StartNotify:
    """Starts notify with settings overrides and a clock; signed in as the secretariat."""

    @asynccontextmanager
    async def start(clock: Clock | None = None, **overrides: Any) -> AsyncIterator[Notify]:
        fields: dict[str, Any] = {
            "nats_url": provisioned_nats.url,
            "database_url": database_url,
            "var_dir": tmp_path,
            "gateway_token": TOKEN,
            "log_json": False,
            "retry_base_seconds": 0.2,
            "dispatch_poll_seconds": 0.1,
        }
        app = create_app(Settings(**(fields | overrides)), clock=clock or Clock())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
                notify = Notify(
                    client,
                    provisioned_nats.url,
                    tmp_path / "notify" / "messages.jsonl",
                    app,
                    app.state.notify.clock,
                )
                await notify.sign_in("sekretariat", Role.SECRETARIAT)
                yield notify

    return start


@pytest.fixture
async def notify(start_notify: StartNotify) -> AsyncIterator[Notify]:
    async with start_notify() as running:
        yield running


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with running_gateway() as running:
        yield running


def sms_through(gateway: Gateway, **more: Any) -> dict[str, Any]:
    """Settings that send SMS through the test gateway, as a district would configure it."""
    return {
        "sms_url": f"{gateway.url}/sms/send",
        "sms_token": "sms-key",
        "sms_payload": SMS_PAYLOAD,
        "sms_id_field": SMS_ID_FIELD,
        **more,
    }
