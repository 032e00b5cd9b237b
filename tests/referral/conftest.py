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
from shared.auth import Role
from shared.contracts import CaseVerified
from shared.outbox import OutboxMessage
from slrt.natsserver import NatsServer
from tests.events import case_escalated, case_verified
from tests.users import SignedInClient, Users

USERS: Users = {
    "sekretariat": (Role.SECRETARIAT, "33.17", None),
    "kepala": (Role.SECRETARIAT_HEAD, "33.17", None),
    "penghubung-bpjs": (Role.LIAISON, "33.17", "bpjs_dinkes"),
    "penghubung-pkh": (Role.LIAISON, "33.17", "pkh"),
    "admin": (Role.ADMIN, "33.17", None),
}


class ReferralDesk(SignedInClient):
    """The referral service as its users and its consumers reach it."""

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
        overdue_check_seconds=0,  # off: tests drive the scheduler with their own clock
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://referral") as client:
            running = ReferralDesk(client, app.state.runtime)
            await running.add_users(USERS)
            yield running
