"""Intake in-process on a real nats-server and both databases, with signed-in operators."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from services.intake.app import create_app
from services.intake.models import Case
from services.intake.settings import Settings
from shared.auth import Role
from shared.outbox import OutboxMessage
from slrt.natsserver import NatsServer
from tests.users import SignedInClient

SITI = {
    "nik": "3317014507850001",
    "kk": "3317010203040005",
    "address": "Dukuh Krajan No. 12",
    "rt": "3",
    "rw": "1",
    "dusun": "Krajan",
    "name": "Siti Aminah",
    "birth_date": "1985-07-05",
    "sex": "P",
    "desa_code": "33.17.01.2001",
    "phone": "0812-3456-7890",
    "category": "pbi_reaktivasi",
    "description": "KIS tidak aktif sejak bulan lalu, perlu berobat",
}


# Operators of the tests: username → (role, area).
OPERATORS = {
    "fo-sumber": (Role.FRONT_OFFICE, "33.17.01.2001"),
    "bo-sumber": (Role.BACK_OFFICE, "33.17.01.2001"),
    "koor-sumber": (Role.COORDINATOR, "33.17.01.2001"),
    "kades-sumber": (Role.VILLAGE_HEAD, "33.17.01.2001"),
    "fo-lasem": (Role.FRONT_OFFICE, "33.17.14.2008"),
    "sup-sumber": (Role.SUPERVISOR, "33.17.01"),
    "sup-lasem": (Role.SUPERVISOR, "33.17.14"),
    "sekretariat": (Role.SECRETARIAT, "33.17"),
    "admin": (Role.ADMIN, "33.17"),
}


class Intake(SignedInClient):
    async def add_operators(self) -> None:
        await self.add_users({name: (role, area, None) for name, (role, area) in OPERATORS.items()})

    async def register(
        self, headers: dict[str, str] | None = None, as_user: str = "fo-sumber", **changes: Any
    ) -> httpx.Response:
        auth = await self.auth(as_user)
        return await self.client.post(
            "/api/cases", json=SITI | changes, headers=auth | (headers or {})
        )

    async def get(
        self,
        url: str,
        as_user: str = "fo-sumber",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        auth = await self.auth(as_user)
        return await self.client.get(url, headers=auth | (headers or {}), **kwargs)

    async def cases(self) -> list[Case]:
        async with self.runtime.sessions() as session:
            return list((await session.exec(select(Case))).all())

    async def outbox(self) -> list[OutboxMessage]:
        async with self.runtime.sessions() as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            return list((await session.exec(query)).all())


async def running_intake(nats_url: str, database_url: str, var_dir: Path) -> AsyncIterator[Intake]:
    settings = Settings(
        nats_url=nats_url,
        database_url=database_url,
        var_dir=var_dir,
        log_json=False,
        # The answer, not its speed, is under test: a loaded CI machine may take longer.
        precheck_timeout_seconds=5.0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            intake = Intake(client, app.state.runtime)
            await intake.add_operators()
            yield intake


@pytest.fixture
async def intake(
    provisioned_nats: NatsServer, database_url: str, tmp_path: Path
) -> AsyncIterator[Intake]:
    async for running in running_intake(provisioned_nats.url, database_url, tmp_path):
        yield running
