"""Notify in-process on a real nats-server and both databases, fed real events."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from services.notify.app import create_app
from services.notify.settings import Settings
from shared.contracts import CaseRegistered, Category, Event
from slrt.natsserver import NatsServer
from tests.events import case_registered, publish

TOKEN = "gateway-secret"
PHONE = "081234567890"


@dataclass
class Notify:
    client: httpx.AsyncClient
    nats_url: str
    messages: Path

    async def reply(self, text: str, sender: str = PHONE, token: str = TOKEN) -> httpx.Response:
        return await self.client.post(
            "/api/notifications/sms/inbound",
            json={"from": sender, "text": text},
            headers={"X-Gateway-Token": token},
        )

    async def publish(self, event: Event) -> None:
        await publish(self.nats_url, event)

    async def register(self, case_id: UUID | None = None) -> CaseRegistered:
        """Publish a case.registered as intake would, and wait until notify told someone."""
        event = case_registered(case_id, phone="+6281234567890", category=Category.PKH)
        await self.publish(event)
        for _ in range(200):
            sent = await self.client.get(
                "/api/notifications", params={"case_id": str(event.case_id)}
            )
            if sent.json():
                return event
            await asyncio.sleep(0.05)
        raise AssertionError("notify did not handle the event")

    def told(self, event: CaseRegistered) -> list[str]:
        lines = [json.loads(line) for line in self.messages.read_text().splitlines()]
        return [m["to"] for m in lines if event.registration_number in m["body"]]


@pytest.fixture
async def notify(
    provisioned_nats: NatsServer, database_url: str, tmp_path: Path
) -> AsyncIterator[Notify]:
    settings = Settings(
        nats_url=provisioned_nats.url,
        database_url=database_url,
        var_dir=tmp_path,
        gateway_token=TOKEN,
        log_json=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
            yield Notify(client, provisioned_nats.url, tmp_path / "notify" / "messages.jsonl")
