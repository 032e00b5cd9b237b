"""Referral in-process on a real nats-server and both databases, with its users."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlmodel import col, select

from services.referral import service
from services.referral.app import create_app
from services.referral.models import Referral
from services.referral.settings import Settings
from shared import accounts
from shared.auth import Role, hash_password
from shared.contracts import CaseVerified
from shared.outbox import OutboxMessage
from shared.runtime import ServiceRuntime
from slrt.natsserver import NatsServer
from tests.events import case_escalated, case_verified

USERS: dict[str, tuple[Role, str | None]] = {
    "sekretariat": (Role.SECRETARIAT, None),
    "kepala": (Role.SECRETARIAT_HEAD, None),
    "penghubung-bpjs": (Role.LIAISON, "bpjs_dinkes"),
    "penghubung-pkh": (Role.LIAISON, "pkh"),
    "admin": (Role.ADMIN, None),
}
PASSWORD = "rahasia-kabupaten-1"
PASSWORD_HASH = hash_password(PASSWORD)


class ReferralDesk:
    """The referral service as its users and its consumers reach it."""

    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime) -> None:
        self.client = client
        self.runtime = runtime
        self.tokens: dict[str, str] = {}

    async def add_users(self) -> None:
        async with self.runtime.sessions() as session:
            for username, (role, agency) in USERS.items():
                await accounts.add_user(
                    session=session,
                    areas=self.runtime.areas,
                    username=username,
                    full_name=username,
                    role=role,
                    area_code="33.17",
                    agency=agency,
                    password_hash=PASSWORD_HASH,
                )
            await session.commit()

    async def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            credentials = {"username": username, "password": PASSWORD}
            response = await self.client.post("/api/login", json=credentials)
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["token"]
            self.client.cookies.clear()
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def arrive(self, **changes: Any) -> tuple[CaseVerified, list[Referral]]:
        """A verified case forwarded to the district, applied as the consumers apply it."""
        verified = case_verified(**changes)
        now = datetime.now(UTC)
        async with self.runtime.sessions() as session:
            await service.note_verified(session=session, verified=verified, now=now)
            await service.note_escalated(
                session=session, escalated=case_escalated(verified), now=now
            )
            await session.commit()
        return verified, await self.referrals(verified.case_id)

    async def referrals(self, case_id: UUID) -> list[Referral]:
        async with self.runtime.sessions() as session:
            query = select(Referral).where(Referral.case_id == case_id)
            return list((await session.exec(query.order_by(col(Referral.destination)))).all())

    async def act(
        self, referral_id: UUID, command: str, as_user: str = "sekretariat", **fields: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/referrals/{referral_id}/actions",
            json={"command": command, **fields},
            headers=await self.auth(as_user),
        )

    async def get(self, url: str, as_user: str = "sekretariat", **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, headers=await self.auth(as_user), **kwargs)

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """The events of a type referral staged, oldest first, as they were published."""
        async with self.runtime.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.event_type == event_type)
            rows = (await session.exec(query.order_by(col(OutboxMessage.id)))).all()
            return [json.loads(row.payload) for row in rows]


@pytest.fixture
async def desk(
    provisioned_nats: NatsServer, database_url: str, tmp_path: Path
) -> AsyncIterator[ReferralDesk]:
    settings = Settings(
        nats_url=provisioned_nats.url,
        database_url=database_url,
        var_dir=tmp_path,
        log_json=False,
        overdue_check_seconds=3600,  # tests drive the scheduler with their own clock
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://referral") as client:
            running = ReferralDesk(client, app.state.runtime)
            await running.add_users()
            yield running
