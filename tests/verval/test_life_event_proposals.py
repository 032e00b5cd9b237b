"""Life events found in the registries open DTKS corrections, on both databases: verval's
own scheduler compares each newly imported pair of snapshots once, against the generator's
ground truth (dead heads of household, renewed KKs, adults without an e-KTP, people who left
the district)."""

import asyncio
import csv
import itertools
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from services.verval import life_event_service, proposal_service, registry
from services.verval.app import create_app
from services.verval.importer import import_csv
from services.verval.life_event_service import HOUSEHOLDS_PER_TRANSACTION
from services.verval.life_events import ADULT_AGE, age_on, born_by
from services.verval.models import LifeEventScan, Proposal
from services.verval.proposals import Status
from services.verval.registry import Kind
from services.verval.settings import Settings
from shared.areas import load_registry
from shared.auth import Role
from shared.db import create_engine, session_factory
from slrt.natsserver import NatsServer
from tests.users import SignedInClient
from tests.verval.conftest import load_district, registry_engine

TODAY = date.today()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _expected(district: Path) -> dict[str, set[str]]:
    """The life events the generated district holds, by event, as the ground truth says."""
    civil, dtks = _rows(district / "civil.csv"), _rows(district / "dtks.csv")
    person = {r["nik"]: r for r in civil}
    members = [(d, person[d["nik"]]) for d in dtks]
    return {
        "kepala": {
            p["nik"] for _, p in members
            if p["alive"] == "0" and p["relationship"] == "KEPALA KELUARGA"
            and any(o["kk"] == p["kk"] and o["alive"] == "1" and o["relationship"] == "ISTRI"
                    for o in civil)
        },
        "kk": {d["kk"] for d, p in members if p["alive"] == "1" and p["kk"] != d["kk"]},
        "ektp": {
            p["nik"] for _, p in members
            if p["alive"] == "1" and p["ektp"] == "0"
            and age_on(date.fromisoformat(p["birth_date"]), TODAY) >= ADULT_AGE
        },
    }  # fmt: skip


class Scanner(SignedInClient):
    def __init__(self, client: httpx.AsyncClient, app: Any, engine: Engine) -> None:
        super().__init__(client, app.state.runtime)
        self.engine = engine

    async def scanned(self, count: int) -> list[LifeEventScan]:
        for _ in range(300):
            async with self.runtime.sessions() as session:
                scans = list((await session.exec(select(LifeEventScan))).all())
            if len(scans) >= count:
                return scans
            await asyncio.sleep(0.05)
        raise AssertionError("verval did not compare the new snapshots")

    async def proposals(self) -> dict[str, Proposal]:
        async with self.runtime.sessions() as session:
            query = select(Proposal).where(col(Proposal.life_event).is_not(None))
            return {p.life_event or "": p for p in (await session.exec(query)).all()}


@pytest.fixture
async def scanner(
    provisioned_nats: NatsServer, database_url: str, district: Path, tmp_path: Path
) -> AsyncIterator[Scanner]:
    engine = registry_engine(database_url)
    load_district(engine, district)
    settings = Settings(
        nats_url=provisioned_nats.url, database_url=database_url, var_dir=tmp_path,
        log_json=False, life_event_check_seconds=0.1, rollover_check_seconds=0,
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://verval") as client:
            yield Scanner(client, app, engine)


async def test_each_life_event_opens_one_correction_for_its_village(
    scanner: Scanner, district: Path
) -> None:
    await scanner.scanned(1)
    opened = await scanner.proposals()
    expected = _expected(district)
    assert all(expected.values()), expected  # the district holds each kind of event
    by_event: dict[str, set[str]] = {"kepala": set(), "kk": set(), "ektp": set()}
    for key in opened:
        event, _, subject = key.partition(":")
        if event in by_event:
            by_event[event].add(subject.split(":")[0])
    assert by_event["kepala"] >= expected["kepala"]  # heads with a widow; others: the eldest
    assert by_event["kk"] == expected["kk"]
    assert by_event["ektp"] == expected["ektp"]
    widow = opened[f"kepala:{sorted(expected['kepala'])[0]}"]
    assert (widow.kind, widow.status, widow.program) == ("perbaikan", Status.OPEN.value, "DTKS")
    assert "diusulkan menjadi kepala keluarga" in widow.reason and widow.case_id is None
    assert widow.id_dtks and widow.desa_code.startswith("33.17.")

    await scanner.add_users({"koor": (Role.COORDINATOR, widow.desa_code, None)})
    url = f"/api/proposals/{widow.id}"
    drafted = await scanner.client.post(
        f"{url}/actions", json={"command": "draft"}, headers=await scanner.auth("koor")
    )
    assert drafted.status_code == 200, drafted.text
    detail = (await scanner.client.get(url, headers=await scanner.auth("koor"))).json()
    assert detail["status"] == Status.DRAFTED.value
    assert detail["history"][0]["note"].startswith("Dibuka otomatis dari data Dukcapil")


async def test_a_snapshot_pair_is_compared_once_and_an_event_never_opens_twice(
    scanner: Scanner, district: Path, tmp_path: Path
) -> None:
    await scanner.scanned(1)
    before = await scanner.proposals()
    import_csv(scanner.engine, Kind.DTKS, district / "dtks.csv")  # the same facts again
    await scanner.scanned(2)
    assert (await scanner.proposals()).keys() == before.keys()

    civil = _rows(district / "civil.csv")
    dtks = {r["nik"]: r["kk"] for r in _rows(district / "dtks.csv")}
    leaver = next(r for r in civil if r["nik"] in dtks and r["alive"] == "1")
    family_kk = next(
        kk for nik, kk in dtks.items()
        if kk != dtks[leaver["nik"]]
        and all(r["alive"] == "1" and r["kk"] == kk for r in civil if dtks.get(r["nik"]) == kk)
    )  # fmt: skip
    family = [r for r in civil if r["kk"] == family_kk]
    came_from = family[0]["desa_code"]
    new_home = next(r["desa_code"] for r in civil if r["desa_code"] != came_from)
    next_month = tmp_path / "civil-next-month.csv"
    with next_month.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(civil[0]))
        writer.writeheader()
        writer.writerows(
            r | ({"desa_code": new_home} if r["kk"] == family_kk else {})
            for r in civil
            if r["nik"] != leaver["nik"]
        )
    import_csv(scanner.engine, Kind.CIVIL, next_month)
    scans = await scanner.scanned(3)
    opened = await scanner.proposals()
    gone = opened[f"pindah:{leaver['nik']}"]
    assert (gone.kind, gone.desa_code, gone.name) == ("hapus", leaver["desa_code"], leaver["name"])
    assert "pindah keluar daerah" in gone.reason
    moved = opened[f"pindah-desa:{family_kk}:{new_home}"]
    assert (moved.kind, moved.desa_code, moved.nik) == ("perbaikan", new_home, family[0]["nik"])
    came_from_name = load_registry(None).get(came_from).name
    assert f"pindah dari desa {came_from_name}" in moved.reason
    assert len(opened) == len(before) + 2
    assert [s.unplaced for s in scans] == [0, 0, 0]


async def test_the_district_pages_through_its_proposals_a_village_sees_its_own(
    scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scanner.scanned(1)
    opened = await scanner.proposals()
    monkeypatch.setattr(proposal_service, "PAGE_SIZE", 5)
    desa = next(iter(opened.values())).desa_code
    await scanner.add_users(
        {"dtks": (Role.DTKS_ADMIN, "33.17", None), "koor": (Role.COORDINATOR, desa, None)}
    )
    pages = []
    for page in range(1, len(opened) // 5 + 2):
        found = await scanner.client.get(
            f"/api/proposals?page={page}", headers=await scanner.auth("dtks")
        )
        pages.append([p["id"] for p in found.json()])
    assert [len(p) for p in pages[:-1]] == [5] * (len(pages) - 1) and len(pages[-1]) < 5
    assert sorted(i for page in pages for i in page) == sorted(str(p.id) for p in opened.values())
    village = await scanner.client.get("/api/proposals", headers=await scanner.auth("koor"))
    ours = {str(p.id) for p in opened.values() if p.desa_code == desa}
    seen = [p["id"] for p in village.json()]
    assert set(seen) <= ours and len(seen) == min(5, len(ours))


async def test_desks_are_answered_while_the_life_event_scan_runs(
    database_url: str, district: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite gives verval one connection: a scan holding it from start to end left every
    pre-check and case check waiting for the whole scan (minutes at district scale)."""
    load_district(registry_engine(database_url), district)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    progress = {"households": 0, "read_after": -1, "answered_after": -1}
    per_household = life_event_service._household

    async def precheck() -> None:
        async with sessions() as session:
            await registry.look_up(session, "3317010101900001")
            progress["read_after"] = progress["households"]
        progress["answered_after"] = progress["households"]

    async def household(*args: Any) -> None:
        await per_household(*args)
        progress["households"] += 1
        if progress["households"] == 2:  # a desk asks while the scan holds the connection
            asked.append(asyncio.create_task(precheck()))

    asked: list[asyncio.Task[None]] = []
    await precheck()  # PostgreSQL's pool then holds a connection ready, as in a running service
    monkeypatch.setattr(life_event_service, "_household", household)
    async with sessions() as session:
        result = await life_event_service.scan(session, TODAY)
    await asyncio.gather(*asked)
    await engine.dispose()
    assert result is not None and result.households >= 3 * HOUSEHOLDS_PER_TRANSACTION
    if database_url.startswith("sqlite"):  # its one connection is free at the first commit
        assert 2 <= progress["read_after"] <= HOUSEHOLDS_PER_TRANSACTION
    # PostgreSQL's pool has a second connection: the desk's read need not wait for a commit,
    # and how many households the scan gets through meanwhile depends on the cores' load.
    assert progress["answered_after"] < result.households  # not after the whole scan


async def test_the_scan_reads_the_registries_in_runs_of_whole_households(
    database_url: str, district: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_district(registry_engine(database_url), district)
    engine = create_engine(database_url)
    async with session_factory(engine)() as session:
        snaps = await registry.current_snapshots(session)
        at_once = [run async for run in registry.disagreements(session, snaps, born_by(TODAY))]
        monkeypatch.setattr(registry, "MEMBERS_PER_STATEMENT", 7)
        runs = [run async for run in registry.disagreements(session, snaps, born_by(TODAY))]
    await engine.dispose()
    assert len(at_once) == 1 and len(runs) > 10

    def by_member(pairs: list[Any]) -> list[Any]:
        return sorted(pairs, key=lambda pair: pair[0].nik)

    assert by_member([pair for run in runs for pair in run]) == by_member(at_once[0])
    households = [{listed.kk for listed, _ in run} for run in runs]
    assert all(not a & b for a, b in itertools.combinations(households, 2))  # none split
