"""A small synthetic district, verval's database loaded with it, and verval running on it."""

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from services.verval.app import create_app
from services.verval.importer import import_csv, sync_engine
from services.verval.models import TABLES
from services.verval.registry import Kind
from services.verval.settings import Settings
from shared.areas import load_registry
from shared.contracts import CaseRegistered, CaseUpdated, Category, Person, Sex
from shared.outbox import OutboxMessage
from slrt.natsserver import NatsServer
from slrt.synthetic import generate
from tests.events import envelope, publish

PEOPLE = 1500


@pytest.fixture
def district(tmp_path: Path) -> Path:
    generate(load_registry(None), PEOPLE, tmp_path / "registry", seed=11)
    return tmp_path / "registry"


def registry_engine(database_url: str) -> Engine:
    engine = sync_engine(database_url)
    TABLES[0].metadata.create_all(engine, tables=TABLES)
    return engine


def load_district(engine: Engine, district: Path) -> None:
    for kind in Kind:
        import_csv(engine, kind, district / f"{kind.value}.csv")


@dataclass
class Verval:
    runtime: Any
    nats_url: str

    async def verified(
        self, registered: CaseRegistered | CaseUpdated, seen: int = 0
    ) -> dict[str, Any]:
        """The (seen+1)-th verdict verval staged for the case, once it is there."""
        await publish(self.nats_url, registered)
        for _ in range(200):
            async with self.runtime.sessions() as session:
                rows = (await session.exec(select(OutboxMessage))).all()
            mine = [json.loads(row.payload) for row in rows]
            mine = [
                p
                for p in mine
                if p["case_id"] == str(registered.case_id) and p["type"] == "case.verified"
            ]
            if len(mine) > seen:
                found: dict[str, Any] = mine[seen]
                return found
            await asyncio.sleep(0.05)
        raise AssertionError("verval did not verify the case")


@pytest.fixture
async def verval(
    provisioned_nats: NatsServer, database_url: str, district: Path, tmp_path: Path
) -> AsyncIterator[Verval]:
    load_district(registry_engine(database_url), district)
    settings = Settings(
        nats_url=provisioned_nats.url, database_url=database_url, var_dir=tmp_path, log_json=False
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Verval(app.state.runtime, provisioned_nats.url)


def presented_by_defect(district: Path) -> dict[str, dict[str, str]]:
    """The first presented person with each defect (and one without), by defect."""
    found: dict[str, dict[str, str]] = {}
    with (district / "presented.csv").open() as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["defect"], row)
    return found


def registered_case(row: dict[str, str], category: Category) -> CaseRegistered:
    person = Person(
        nik=row["nik"],
        name=row["name"],
        birth_place=row["birth_place"],
        birth_date=date.fromisoformat(row["birth_date"]),
        sex=Sex(row["sex"]),
    )
    return CaseRegistered(
        **envelope(desa=row["desa_code"]),
        registration_number="3317012001-2611-0001",
        person=person,
        category=category,
        description="uji verval",
    )
